/**
 * `keypin serve` as a process: the address on the first stdout line (with
 * the real port when asked for port 0), the identity file that keeps it
 * across restarts, and a clean exit on SIGINT and SIGTERM.
 */
import assert from 'node:assert/strict'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { run, serve, succeeded, temporaryDirectory } from './support.js'

const ADDRESS = /^127\.0\.0\.1:([0-9]+):(uEi[A-Za-z0-9_-]{44})$/

test('port 0 prints the real port; the identity file keeps the address across restarts', async (t) => {
  const directory = await temporaryDirectory(t)
  const identity = join(directory, 'keys', 'echo.pem')

  const first = await serve(t, ['--port', '0', '--identity', identity])
  const [, port, certhash] = ADDRESS.exec(first.address) ?? assert.fail(`not an address: ${first.address}`)
  assert.notEqual(Number(port), 0)
  assert.equal((await stat(identity)).mode & 0o777, 0o600)
  const output = succeeded(await run(t, ['dial', first.address], { input: 'ping' }))
  assert.equal(output.toString(), 'ping')
  const stopped = await first.stop('SIGINT')
  assert.equal(stopped.code, 0, stopped.stderr)
  assert.equal(stopped.stdout.toString(), `${first.address}\n`, 'stdout holds the address and nothing else')
  assert.match(stopped.stderr, new RegExp(`keypin dial ${first.address}`))

  const second = await serve(t, ['--port', '0', '--identity', identity])
  assert.equal(ADDRESS.exec(second.address)?.[2], certhash, 'same identity file, same certhash')
  assert.equal((await second.stop('SIGTERM')).code, 0)
})

test('without --identity the identity goes to .keypin/ under the working directory', async (t) => {
  const directory = await temporaryDirectory(t)
  const server = await serve(t, ['--port', '0'], directory)
  assert.match(server.address, ADDRESS)
  const info = await stat(join(directory, '.keypin', 'echo-identity.pem'))
  assert.equal(info.mode & 0o777, 0o600)
  assert.equal((await server.stop('SIGTERM')).code, 0)
})

test('a port that is taken is a one-line failure, exit 1', async (t) => {
  const directory = await temporaryDirectory(t)
  const server = await serve(t, ['--port', '0', '--identity', join(directory, 'a.pem')])
  const port = server.address.split(':')[1] as string
  const finished = await run(t, ['serve', '--port', port, '--identity', join(directory, 'b.pem')])
  assert.equal(finished.code, 1, finished.stderr)
  assert.match(finished.stderr, /^keypin serve: .*EADDRINUSE.*\n$/)
  assert.equal((await server.stop()).code, 0)
})

test('a corrupt identity file is refused, never replaced', async (t) => {
  const directory = await temporaryDirectory(t)
  const identity = join(directory, 'broken.pem')
  const { writeFile, readFile } = await import('node:fs/promises')
  await writeFile(identity, 'not a key\n', { mode: 0o600 })
  const finished = await run(t, ['serve', '--port', '0', '--identity', identity])
  assert.equal(finished.code, 1)
  assert.match(finished.stderr, /^keypin serve: identity-error: /)
  assert.equal(await readFile(identity, 'utf8'), 'not a key\n')
})
