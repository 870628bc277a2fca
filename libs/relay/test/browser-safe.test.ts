/**
 * Everything under libs/relay/src except server/ is loaded by browsers
 * (the chat page bundles it): no node: imports, no Buffer, no process, no
 * Node-only Keypin packages. Reads the TypeScript sources, not the build,
 * and ignores comments.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync, readFileSync } from 'node:fs'

const srcDir = new URL('../src/', import.meta.url)
const browserSources = readdirSync(srcDir, { recursive: true, encoding: 'utf8' })
  .map((name) => name.split('\\').join('/'))
  .filter((name) => name.endsWith('.ts') && !name.startsWith('server/'))
  .sort()

const forbidden: [RegExp, string][] = [
  [/['"]node:/, 'a node: import'],
  [/\bBuffer\b/, 'Buffer'],
  [/\bprocess\b/, 'process'],
  [/\brequire\s*\(/, 'require()'],
  [/\b__dirname\b|\b__filename\b/, 'CommonJS path globals'],
  [/from\s+['"](fs|path|os|crypto|net|dgram|stream|util|events|buffer|http|child_process)['"]/, 'a bare Node built-in import'],
  [/['"]@keypin\/(server|quic|quic-client)['"]/, 'a Node-only Keypin package'],
  [/['"](better-sqlite3|prom-client)['"]/, 'a Node-only dependency'],
  [/from\s+['"]\.\.?\/(\.\.\/)*server\//, 'an import of the server'],
]

function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1')
}

test('the scan sees the browser-safe folders', () => {
  for (const name of ['index.ts', 'client/client.ts', 'protocol/frame.ts', 'protocol/messages.ts', 'crypto/index.ts']) {
    assert.ok(browserSources.includes(name), `${name} missing from ${browserSources.join(', ')}`)
  }
  assert.ok(!browserSources.some((name) => name.startsWith('server/')))
})

test('the scan catches what it looks for', () => {
  const bad = withoutComments("/* Buffer */ // process.exit\nconst url = 'https://x' // Buffer\nimport { x } from 'node:fs'\nconst b = Buffer.alloc(1)\nimport { s } from '../server/relay.js'")
  assert.ok(bad.includes("'https://x'"), 'a // inside a string is not a comment')
  assert.match(bad, /['"]node:/)
  assert.equal(bad.match(/\bBuffer\b/g)?.length, 1)
  assert.doesNotMatch(bad, /\bprocess\b/)
  assert.ok(forbidden.some(([pattern]) => pattern.test("import { s } from '../server/relay.js'")))
})

for (const name of browserSources) {
  test(`browser-safe: ${name}`, () => {
    const text = withoutComments(readFileSync(new URL(name, srcDir), 'utf8'))
    for (const [pattern, what] of forbidden) {
      const match = pattern.exec(text)
      assert.equal(match, null, `${name} uses ${what}: ${match?.[0]}`)
    }
  })
}
