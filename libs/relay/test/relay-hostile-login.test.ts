/**
 * Hostile input before and during login: replayed logins, logins signed
 * for another relay, unsigned prekeys, wrong versions, silence, oversize
 * frames and garbage bytes. Each gets a clear error frame and a closed
 * connection; the relay keeps serving everyone else.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateIdentity, generatePrekey } from '@keypin/relay'
import { connectClient, RawControl, startTestRelay, type Frame } from './support.js'

/**
 * Reads to EOF and returns the error frames seen; the connection must then
 * close. Like the SDK, it ends its own side on EOF (unless told not to, to
 * check that the relay closes an uncooperative client by itself).
 */
async function errorsUntilClosed(raw: RawControl, cooperate = true): Promise<Frame[]> {
  const frames = await raw.untilEnd()
  if (cooperate) await raw.stream.closeWrite().catch(() => {})
  const info = await Promise.race([raw.connection.closed, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 5_000))])
  assert.ok(info, 'the relay closed the connection')
  return frames.filter((frame) => frame.t === 'error')
}

test('a login replayed on another connection fails; the same frame works on its own connection', { timeout: 20_000 }, async (t) => {
  const { address, relay } = await startTestRelay(t)
  const identity = generateIdentity()
  const first = await RawControl.open(t, address)
  await first.hello()
  const frame = first.loginFrame(identity)

  const second = await RawControl.open(t, address)
  await second.hello()
  await second.request(frame)
  const [error] = await errorsUntilClosed(second)
  assert.equal(error?.['code'], 'login-failed')
  assert.equal(relay.stats.usersOnline, 0)

  // The frame was valid, for the connection whose nonce it signed.
  await first.request(frame)
  const ok = await first.nextOf('ok')
  assert.ok(typeof ok['user'] === 'string')
  assert.equal(relay.stats.usersOnline, 1)
})

test('a login signed for another certhash, or with a prekey it did not sign, fails', { timeout: 20_000 }, async (t) => {
  const { address } = await startTestRelay(t)
  const other = await startTestRelay(t)
  const identity = generateIdentity()

  const raw = await RawControl.open(t, address)
  await raw.hello()
  await raw.request(raw.loginFrame(identity, { certhash: other.listener.certhash }))
  assert.equal((await errorsUntilClosed(raw))[0]?.['code'], 'login-failed')

  const raw2 = await RawControl.open(t, address)
  await raw2.hello()
  const strangersPrekey = generatePrekey(generateIdentity(), 1).prekey
  await raw2.request(raw2.loginFrame(identity, { prekey: strangersPrekey }))
  const [error] = await errorsUntilClosed(raw2)
  assert.equal(error?.['code'], 'login-failed')
  assert.match(error?.['message'] as string, /prekey/)

  // Only one try per connection, even with a good signature afterwards: the connection is gone.
  assert.ok(raw2.ended)
})

test('wrong version, requests before login, and silence', { timeout: 20_000 }, async (t) => {
  const { address } = await startTestRelay(t, { limits: { loginTimeoutMs: 300 } })

  const old = await RawControl.open(t, address)
  await old.send({ t: 'hello', v: 2 })
  assert.equal((await errorsUntilClosed(old))[0]?.['code'], 'unsupported-version')

  const early = await RawControl.open(t, address)
  await early.hello()
  const requestId = await early.request({ t: 'keys', user: 'k' + 'a'.repeat(32) })
  const refused = await early.nextOf('error')
  assert.deepEqual([refused['code'], refused['requestId']], ['not-logged-in', requestId])
  // ...and then it says nothing more: the login timeout closes it.
  assert.equal((await errorsUntilClosed(early))[0]?.['code'], 'login-timeout')

  const silent = await RawControl.open(t, address)
  await silent.send({ t: 'hello', v: 1 })
  assert.equal((await errorsUntilClosed(silent, false)).at(-1)?.['code'], 'login-timeout')
})

test('oversize frames and garbage bytes get an error and a close; the relay stays up', { timeout: 30_000 }, async (t) => {
  const { address, relay } = await startTestRelay(t)

  const huge = await RawControl.open(t, address)
  await huge.hello()
  await huge.writeBytes(new Uint8Array([0, 1, 0x11, 0x70])) // 70 000 bytes announced
  const [tooLarge] = await errorsUntilClosed(huge)
  assert.equal(tooLarge?.['code'], 'frame-too-large')

  const http = await RawControl.open(t, address)
  await http.writeBytes(new TextEncoder().encode('GET / HTTP/1.1\r\nHost: relay\r\n\r\n'))
  assert.equal((await errorsUntilClosed(http))[0]?.['code'], 'frame-too-large')

  const notJson = await RawControl.open(t, address)
  await notJson.writeBytes(new Uint8Array([0, 0, 0, 5, 0x7b, 0x7b, 0xff, 0x00, 0x22]))
  assert.equal((await errorsUntilClosed(notJson))[0]?.['code'], 'bad-frame')

  const deep = await RawControl.open(t, address)
  await deep.hello()
  const nested = new TextEncoder().encode('['.repeat(60_000))
  const frame = new Uint8Array(4 + nested.byteLength)
  new DataView(frame.buffer).setUint32(0, nested.byteLength)
  frame.set(nested, 4)
  await deep.writeBytes(frame)
  assert.equal((await errorsUntilClosed(deep))[0]?.['code'], 'bad-frame')

  const random = await RawControl.open(t, address)
  const noise = crypto.getRandomValues(new Uint8Array(4 + 1000))
  new DataView(noise.buffer).setUint32(0, 1000) // a plausible length, so the payload is parsed (and refused)
  noise[4] = 0x7b // "{": JSON.parse has something to chew on
  await random.writeBytes(noise)
  assert.equal((await errorsUntilClosed(random))[0]?.['code'], 'bad-frame')

  // Everyone else is still served.
  const alice = await connectClient(t, address)
  const bob = await connectClient(t, address)
  await alice.client.sendDirect(bob.client.userId, 'still here')
  assert.equal((await bob.recorder.wait('direct'))[0]?.text, 'still here')
  assert.equal(relay.stats.connections, 2)
})

test('extra streams on a relay connection are refused, the control stream keeps working', { timeout: 20_000 }, async (t) => {
  const { address } = await startTestRelay(t)
  const raw = await RawControl.open(t, address)
  await raw.login(generateIdentity())
  const extra = await raw.connection.openStream()
  await extra.writable.getWriter().write(new Uint8Array([1, 2, 3]))
  await assert.rejects(extra.readable.getReader().read(), (error: Error & { code?: string }) => error.code === 'unsupported')
  await raw.request({ t: 'keys', user: 'k' + 'a'.repeat(32) })
  assert.equal((await raw.nextOf('error'))['code'], 'unknown-user')
})
