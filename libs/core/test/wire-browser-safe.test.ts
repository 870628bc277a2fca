/**
 * Extends the browser-safety guard to libs/core/src/wire/, which the
 * top-level guard (browser-safe.test.ts) does not descend into: the WebRTC
 * codecs run in browsers, so they may not use Node built-ins or globals.
 */
import assert from 'node:assert/strict'
import { readFileSync, readdirSync } from 'node:fs'
import { describe, it } from 'node:test'

// Compiled tests live in libs/core/dist-test/; the sources are in libs/core/src/wire/.
const wireDir = new URL('../src/wire/', import.meta.url)
const sources = readdirSync(wireDir).filter((name) => name.endsWith('.ts'))

const forbidden: Array<[RegExp, string]> = [
  [/['"]node:/, 'a node: import'],
  [/\bBuffer\b/, 'Buffer'],
  [/\brequire\s*\(/, 'require()'],
  [/\bprocess\./, 'process'],
  [/\b__dirname\b|\b__filename\b/, 'CommonJS path globals'],
  [/from\s+['"](fs|path|os|crypto|net|dgram|stream|util|events)['"]/, 'a bare Node built-in import'],
]

describe('@keypin/core wire codecs are browser-safe', () => {
  it('has the codec sources', () => {
    for (const name of ['framing.ts', 'control.ts', 'integers.ts']) assert.ok(sources.includes(name), name)
  })

  for (const name of sources) {
    it(name, () => {
      const text = readFileSync(new URL(name, wireDir), 'utf8')
      for (const [pattern, what] of forbidden) {
        const match = pattern.exec(text)
        assert.equal(match, null, `wire/${name} uses ${what}: ${match?.[0]}`)
      }
    })
  }
})
