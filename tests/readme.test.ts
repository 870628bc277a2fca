/**
 * README examples are the code people copy first, so every ```js block in
 * the root and package READMEs is run here exactly as written: extracted,
 * executed as an ES module inside the repository (so the @keypin packages
 * resolve), and its output checked where the example promises output.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFile, writeFile, rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

const root = new URL('../../', import.meta.url)

async function jsBlocks(readme: string): Promise<string[]> {
  const text = await readFile(new URL(readme, root), 'utf8')
  return [...text.matchAll(/```js\n([\s\S]*?)```/g)].map((match) => match[1] ?? '')
}

async function run(code: string, name: string): Promise<string> {
  const file = new URL(`tests/dist/readme-${name}.mjs`, root)
  await writeFile(file, code)
  try {
    return await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [fileURLToPath(file)], { timeout: 20_000, cwd: fileURLToPath(root) }, (error, stdout, stderr) => {
        if (error) reject(new Error(`example ${name} failed: ${error.message}\n${stderr}`))
        else resolve(stdout)
      })
    })
  } finally {
    await rm(file, { force: true })
  }
}

test('the README quickstart runs and echoes', { timeout: 30_000 }, async () => {
  const [quickstart] = await jsBlocks('README.md')
  assert.ok(quickstart, 'README.md has a js example')
  const output = await run(quickstart, 'quickstart')
  assert.match(output, /^dial me at 127\.0\.0\.1:\d+:uEi[A-Za-z0-9_-]{44}$/m)
  assert.match(output, /^echo: hello, pinned world$/m)
  assert.match(output, /^datagram payload limit: \d{4}$/m)
})

test('the @keypin/core README example parses and rejects addresses', { timeout: 30_000 }, async () => {
  const [example] = await jsBlocks('libs/core/README.md')
  assert.ok(example)
  const output = await run(example, 'core')
  assert.match(output, /^::1 4242 6 32$/m)
  assert.match(output, /^\[::1\]:4242:uEi/m)
  assert.match(output, /^invalid-address$/m)
})

test('the @keypin/server README example listens and closes', { timeout: 30_000 }, async () => {
  const [example] = await jsBlocks('libs/server/README.md')
  assert.ok(example)
  const output = await run(example, 'server')
  assert.match(output, /^address: 127\.0\.0\.1:\d+:uEi/m)
})

test('the @keypin/quic-client README example fails cleanly when nobody answers', { timeout: 30_000 }, async () => {
  const [example] = await jsBlocks('libs/quic-client/README.md')
  assert.ok(example)
  // Nothing listens on that port: the dial ends by its signal or an ICMP refusal, never hangs.
  const output = await run(example, 'quic-client')
  assert.match(output, /^(TimeoutError|network-error)$/m)
})

test('the @keypin/webrtc-client README example echoes over WebRTC from Node', { timeout: 30_000 }, async () => {
  const [example] = await jsBlocks('libs/webrtc-client/README.md')
  assert.ok(example)
  const output = await run(example, 'webrtc-client')
  assert.match(output, /^transport: webrtc$/m)
  assert.match(output, /^echo: over webrtc$/m)
})

test('the @keypin/relay README example sends an end-to-end encrypted DM', { timeout: 30_000 }, async () => {
  const [example] = await jsBlocks('libs/relay/README.md')
  assert.ok(example)
  const output = await run(example, 'relay')
  assert.match(output, /^alice sent: stored$/m)
  assert.match(output, /^bob got: hello bob \(from alice\)$/m)
  assert.match(output, /^receipt: delivered$/m)
  assert.match(output, /^safety codes match: true$/m)
})
