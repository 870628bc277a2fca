/**
 * The relay's end-to-end crypto must load in a browser: its sources may not
 * import Node built-ins or use Node-only globals. Reads the TypeScript
 * sources (not the build), skipping comments.
 */
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { describe, it } from 'node:test'

// Compiled tests live in libs/relay/dist-test/; the sources are in libs/relay/src/crypto/.
const srcDir = new URL('../src/crypto/', import.meta.url)
const sources = readdirSync(srcDir, { recursive: true, encoding: 'utf8' })
  .map((name) => name.split('\\').join('/'))
  .filter((name) => name.endsWith('.ts'))
  .sort()

const forbidden: Array<[RegExp, string]> = [
  [/['"]node:/, 'a node: import'],
  [/\bBuffer\b/, 'Buffer'],
  [/\bprocess\b/, 'process'],
  [/\brequire\s*\(/, 'require()'],
  [/\b__dirname\b|\b__filename\b/, 'CommonJS path globals'],
  [/from\s+['"](fs|path|os|crypto|net|dgram|stream|util|events|buffer)['"]/, 'a bare Node built-in import'],
  [/['"]@keypin\/(server|quic)/, 'a Node-only Keypin package'],
]

describe('relay crypto is browser-safe', () => {
  it('has the sources to check', () => {
    for (const name of ['index.ts', 'seal.ts', 'encoding.ts', 'replay.ts']) {
      assert.ok(sources.includes(name), `${name} missing from ${sources.join(', ')}`)
    }
  })

  it('sees code but not comments', () => {
    const text = withoutComments("/* Buffer */ // process.exit\nconst url = 'https://x' // Buffer\nimport fs from 'node:fs'\nBuffer.alloc(1)")
    assert.ok(text.includes("'https://x'"))
    assert.match(text, /['"]node:/)
    assert.equal(text.match(/\bBuffer\b/g)?.length, 1)
    assert.doesNotMatch(text, /\bprocess\b/)
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

/** Drops block and line comments; a `//` after a colon or quote is kept so URLs survive. */
function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1')
}
