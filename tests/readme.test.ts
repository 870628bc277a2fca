/**
 * The README's API example is code people copy first, so it is run here
 * exactly as written: extracted from README.md, executed as an ES module
 * inside the repository (so the @keypin packages resolve), output checked.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFile, writeFile, rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

const root = new URL('../../', import.meta.url)

async function example(name: string): Promise<string> {
  const readme = await readFile(new URL('README.md', root), 'utf8')
  const marker = readme.indexOf(`<!-- example: ${name}`)
  assert.ok(marker >= 0, `README has no example named ${name}`)
  const match = /```js\n([\s\S]*?)```/.exec(readme.slice(marker))
  assert.ok(match?.[1], `README example ${name} has no js block`)
  return match[1]
}

test('the README quickstart runs and echoes', { timeout: 30_000 }, async () => {
  const file = new URL('tests/dist/readme-quickstart.mjs', root)
  await writeFile(file, await example('quickstart'))
  try {
    const output = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [fileURLToPath(file)], { timeout: 20_000 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`example failed: ${error.message}\n${stderr}`))
        else resolve(stdout)
      })
    })
    assert.match(output, /^dial me at 127\.0\.0\.1:\d+:uEi[A-Za-z0-9_-]{44}$/m)
    assert.match(output, /^echo: hello, pinned world$/m)
    assert.match(output, /^datagram payload limit: \d{4}$/m)
  } finally {
    await rm(file, { force: true })
  }
})
