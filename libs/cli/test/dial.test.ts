/**
 * `keypin dial` against a real `keypin serve --echo`, both as child
 * processes over real UDP: the bytes that go in on stdin come back on stdout
 * over QUIC and WebRTC, and every failure is one typed line and exit 1.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { once } from 'node:events'
import { join } from 'node:path'
import { test } from 'node:test'
import { run, serve, succeeded, temporaryDirectory } from './support.js'

const MEGABYTE = 1024 * 1024

test('keypin dial through keypin serve --echo', async (t) => {
  const directory = await temporaryDirectory(t)
  const server = await serve(t, ['--echo', '--port', '0', '--identity', join(directory, 'echo.pem')])
  const [, , certhash] = server.address.split(':')

  await t.test('a line over QUIC comes back unchanged, then the command exits 0', async (t) => {
    const output = succeeded(await run(t, ['dial', server.address], { input: 'hello, pinned world\n' }))
    assert.equal(output.toString('utf8'), 'hello, pinned world\n')
  })

  for (const transport of ['quic', 'webrtc'] as const) {
    await t.test(`1 MiB of random bytes over ${transport} comes back byte for byte`, async (t) => {
      const input = randomBytes(MEGABYTE)
      const output = succeeded(
        await run(t, ['dial', '--transport', transport, server.address], { input, ms: 60_000 }),
      )
      assert.equal(output.length, input.length)
      assert.ok(output.equals(input), `${transport}: the echoed bytes differ from the input`)
    })
  }

  await t.test('empty input: the stream ends at once and nothing comes back', async (t) => {
    const output = succeeded(await run(t, ['dial', server.address], { input: '' }))
    assert.equal(output.length, 0)
  })

  await t.test('a wrong certhash over QUIC fails with pin-mismatch', async (t) => {
    const wrong = server.address.replace(certhash as string, changeOneDigestCharacter(certhash as string))
    const finished = await run(t, ['dial', wrong], { input: 'secret\n' })
    assert.equal(finished.code, 1, finished.stderr)
    assert.match(finished.stderr, /^keypin dial: pin-mismatch: .+\n$/)
    assert.equal(finished.stdout.length, 0)
  })

  await t.test('a wrong certhash over WebRTC fails with timeout (the server stays silent)', async (t) => {
    const wrong = server.address.replace(certhash as string, changeOneDigestCharacter(certhash as string))
    const started = Date.now()
    const finished = await run(t, ['dial', '--transport', 'webrtc', '--timeout', '1500', wrong], { input: 'secret\n' })
    assert.equal(finished.code, 1, finished.stderr)
    assert.match(finished.stderr, /^keypin dial: timeout: .+\n$/)
    assert.ok(Date.now() - started >= 1500, 'gave up before the timeout')
    assert.equal(finished.stdout.length, 0)
  })

  const stopped = await server.stop('SIGTERM')
  assert.equal(stopped.code, 0, stopped.stderr)
})

test('keypin dial refuses a malformed address before sending anything', async (t) => {
  for (const address of ['nonsense', 'localhost:4242:uEiBmtLk5zF_t1TmktyhN6AlGtMrbmweddpaNPrAQ8Gg_Ug', '127.0.0.1:70000:uEi']) {
    const finished = await run(t, ['dial', address], { input: 'x' })
    assert.equal(finished.code, 1, `${address}: ${finished.stderr}`)
    assert.match(finished.stderr, /^keypin dial: invalid-address: .+\n$/, address)
  }
  const badCerthash = await run(t, ['dial', '127.0.0.1:4242:bad'], { input: 'x' })
  assert.equal(badCerthash.code, 1)
  assert.match(badCerthash.stderr, /^keypin dial: invalid-certhash: /)
})

test('keypin dial gives up with timeout when nobody answers', async (t) => {
  // A UDP socket that reads everything and answers nothing.
  const silent = createSocket('udp4')
  silent.on('message', () => {})
  silent.bind(0, '127.0.0.1')
  await once(silent, 'listening')
  t.after(() => silent.close())
  const address = `127.0.0.1:${silent.address().port}:uEiBmtLk5zF_t1TmktyhN6AlGtMrbmweddpaNPrAQ8Gg_Ug`
  const finished = await run(t, ['dial', '--timeout', '1000', address], { input: 'x' })
  assert.equal(finished.code, 1, finished.stderr)
  assert.match(finished.stderr, /^keypin dial: timeout: no pinned quic connection to .+ within 1000 ms\n$/)
})

/** Another valid certhash: one character inside the digest changed (every bit there counts). */
function changeOneDigestCharacter(certhash: string): string {
  const at = 10
  return certhash.slice(0, at) + (certhash[at] === 'A' ? 'B' : 'A') + certhash.slice(at + 1)
}
