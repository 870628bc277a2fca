/**
 * Guards that @keypin/core stays loadable in a browser: its sources may not
 * import Node built-ins or use Node-only globals. Reads the TypeScript sources
 * (not the build) so a violation is reported against the file that has it,
 * in src/ and every folder below it (engine/, wire/, webrtc/, ...). Comments
 * are skipped: explaining why code avoids Buffer is not using it.
 */
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { describe, it } from 'node:test'

// Compiled tests live in libs/core/dist-test/; the sources are in libs/core/src/.
const srcDir = new URL('../src/', import.meta.url)
const sources = readdirSync(srcDir, { recursive: true, encoding: 'utf8' })
  .map((name) => name.split('\\').join('/'))
  .filter((name) => name.endsWith('.ts'))
  .sort()

const forbidden: Array<[RegExp, string]> = [
  [/['"]node:/, 'a node: import'],
  [/\bBuffer\b/, 'Buffer'],
  [/\brequire\s*\(/, 'require()'],
  [/\bprocess\./, 'process'],
  [/\b__dirname\b|\b__filename\b/, 'CommonJS path globals'],
  [/from\s+['"](fs|path|os|crypto|net|dgram|stream|util|events)['"]/, 'a bare Node built-in import'],
]

describe('@keypin/core is browser-safe', () => {
  it('has sources to check, including every subfolder', () => {
    assert.ok(sources.includes('index.ts'))
    for (const name of ['engine/connection.ts', 'wire/framing.ts', 'webrtc/connect.ts']) {
      assert.ok(sources.includes(name), `${name} missing from ${sources.join(', ')}`)
    }
  })

  it('ignores comments but still sees the code around them', () => {
    const sample = "/* Buffer */ // process.exit\nconst url = 'https://x' // Buffer\nimport fs from 'node:fs'\nBuffer.alloc(1)"
    const text = withoutComments(sample)
    assert.ok(text.includes("'https://x'"))
    assert.match(text, /['"]node:/)
    assert.equal(text.match(/\bBuffer\b/g)?.length, 1)
    assert.doesNotMatch(text, /\bprocess\./)
  })

  for (const name of sources) {
    it(name, () => {
      const text = withoutComments(readFileSync(new URL(name, srcDir), 'utf8'))
      for (const [pattern, what] of forbidden) {
        const match = pattern.exec(text)
        assert.equal(match, null, `${name} uses ${what}: ${match?.[0]}`)
      }
    })
  }
})

/**
 * Drops block and line comments. Rough on purpose: a `//` right after a
 * colon or a quote is kept, so URLs and strings that start with it survive.
 */
function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1')
}
