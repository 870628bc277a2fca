/**
 * Guards that @keypin/core stays loadable in a browser: its sources may not
 * import Node built-ins or use Node-only globals. Reads the TypeScript sources
 * (not the build) so a violation is reported against the file that has it.
 */
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { describe, it } from 'node:test'

// Compiled tests live in libs/core/dist-test/; the sources are in libs/core/src/.
const srcDir = new URL('../src/', import.meta.url)
const sources = readdirSync(srcDir).filter((name) => name.endsWith('.ts'))

const forbidden: Array<[RegExp, string]> = [
  [/['"]node:/, 'a node: import'],
  [/\bBuffer\b/, 'Buffer'],
  [/\brequire\s*\(/, 'require()'],
  [/\bprocess\./, 'process'],
  [/\b__dirname\b|\b__filename\b/, 'CommonJS path globals'],
  [/from\s+['"](fs|path|os|crypto|net|dgram|stream|util|events)['"]/, 'a bare Node built-in import'],
]

describe('@keypin/core is browser-safe', () => {
  it('has sources to check', () => {
    assert.ok(sources.includes('index.ts'))
    assert.ok(sources.length >= 6, sources.join(', '))
  })

  for (const name of sources) {
    it(name, () => {
      const text = readFileSync(new URL(name, srcDir), 'utf8')
      for (const [pattern, what] of forbidden) {
        const match = pattern.exec(text)
        assert.equal(match, null, `${name} uses ${what}: ${match?.[0]}`)
      }
    })
  }
})
