/**
 * Abuse controls: token buckets per user and per IP trip with a
 * rate-limited error carrying retryAfterMs and recover after it; repeated
 * violations disconnect; a client that does not read its frames is
 * disconnected instead of growing the relay's memory.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateIdentity, RelayError } from '@keypin/relay'
import { connectClient, delay, RawControl, rejectsWith, startTestRelay, STEP_MS, withTimeout } from './support.js'

test('the per-user message bucket trips with retryAfterMs and recovers after it', { timeout: 30_000 }, async (t) => {
  // A frozen clock, moved by hand: no token refills while the (slow, pure-JS) sealing runs.
  let clock = Date.now()
  const { address, relay } = await startTestRelay(t, { now: () => clock, limits: { userMessages: { perSecond: 4, burst: 4 } } })
  const alice = await connectClient(t, address)
  const bob = await connectClient(t, address)
  for (let i = 0; i < 4; i++) await alice.client.sendDirect(bob.client.userId, `ok ${i}`)
  const error = await rejectsWith(alice.client.sendDirect(bob.client.userId, 'too fast'), 'rate-limited')
  assert.equal(error.retryAfterMs, 250, 'one token at 4 per second')
  clock += 200
  const again = await rejectsWith(alice.client.sendDirect(bob.client.userId, 'still too fast'), 'rate-limited')
  assert.equal(again.retryAfterMs, 50)
  clock += 50
  assert.equal((await alice.client.sendDirect(bob.client.userId, 'patient')).state, 'stored')
  // Only the accepted messages reached Bob.
  const received = await bob.recorder.wait('direct', 5)
  assert.deepEqual(received.map((m) => m.text), ['ok 0', 'ok 1', 'ok 2', 'ok 3', 'patient'])
  const metrics = await relay.metrics.getSingleMetricAsString('keypin_relay_rate_limited_total')
  assert.match(metrics, /keypin_relay_rate_limited_total\{scope="user-messages"\} 2/)
})

test('buckets refill in real time too', { timeout: 30_000 }, async (t) => {
  const { address } = await startTestRelay(t, { limits: { userRequests: { perSecond: 1, burst: 1 } } })
  const alice = await connectClient(t, address)
  await alice.client.contactSafetyCode(alice.client.userId)
  const error = await rejectsWith(alice.client.contactSafetyCode('k' + 'b'.repeat(32)), 'rate-limited')
  assert.ok(error.retryAfterMs !== undefined && error.retryAfterMs > 0 && error.retryAfterMs <= 1_000, `retryAfterMs ${error.retryAfterMs}`)
  await delay(error.retryAfterMs + 20)
  await rejectsWith(alice.client.contactSafetyCode('k' + 'b'.repeat(32)), 'unknown-user')
})

test('a room send costs one token per recipient', { timeout: 30_000 }, async (t) => {
  const { address } = await startTestRelay(t, { limits: { userMessages: { perSecond: 1, burst: 3 } } })
  const alice = await connectClient(t, address)
  const room = await alice.client.createRoom({ ttlMs: 60_000, maxMembers: 4 })
  for (let i = 0; i < 3; i++) await (await connectClient(t, address)).client.joinRoom(room.id)
  assert.equal((await alice.client.sendRoom(room.id, 'to three')).length, 3)
  await rejectsWith(alice.client.sendRoom(room.id, 'again'), 'rate-limited')
})

test('the per-IP login bucket trips and recovers', { timeout: 30_000 }, async (t) => {
  let clock = Date.now()
  const { address } = await startTestRelay(t, { now: () => clock, limits: { ipLogins: { perSecond: 2, burst: 2 } } })
  await connectClient(t, address)
  await connectClient(t, address)
  const error = await rejectsWith(connectClient(t, address), 'rate-limited')
  assert.equal(error.retryAfterMs, 500)
  clock += 500
  await connectClient(t, address)
})

test('repeated violations close the connection', { timeout: 20_000 }, async (t) => {
  const { address, relay } = await startTestRelay(t, { limits: { violationLimit: 5 } })
  const raw = await RawControl.open(t, address)
  await raw.login(generateIdentity())
  for (let i = 0; i < 5; i++) await raw.request({ t: 'keys', user: `nobody-${i}` })
  const frames = await raw.untilEnd()
  const codes = frames.map((frame) => frame['code'])
  assert.deepEqual(codes.slice(0, 5), ['bad-frame', 'bad-frame', 'bad-frame', 'bad-frame', 'bad-frame'])
  assert.equal(codes.at(-1), 'rate-limited')
  assert.match(frames.at(-1)?.['message'] as string, /too many violations/)
  const info = await withTimeout(raw.connection.closed, STEP_MS, 'the relay closes the connection')
  assert.equal(info.initiator, 'remote')
  const metrics = await relay.metrics.getSingleMetricAsString('keypin_relay_disconnects_total')
  assert.match(metrics, /reason="violations"\} 1/)
})

test('an SDK client that keeps violating is closed and says why', { timeout: 20_000 }, async (t) => {
  const { address } = await startTestRelay(t, { limits: { violationLimit: 3, userRequests: { perSecond: 0.001, burst: 1 } } })
  const alice = await connectClient(t, address)
  const bob = await connectClient(t, address)
  await alice.client.contactSafetyCode(bob.client.userId) // the one request token
  const nobody = ['a', 'b', 'c'].map((c) => 'k' + c.repeat(32))
  for (const user of nobody) await rejectsWith(alice.client.contactSafetyCode(user), 'rate-limited')
  const [closed] = await alice.recorder.wait('close')
  assert.ok(closed?.error instanceof RelayError)
  assert.equal(closed.error.code, 'rate-limited')
  await rejectsWith(alice.client.sendDirect(bob.client.userId, 'after close'), 'closed')
})

test('a client that does not read is disconnected as a slow consumer', { timeout: 60_000 }, async (t) => {
  const { address, relay } = await startTestRelay(t, {
    limits: { maxOutboundBytes: 131_072, userRequests: { perSecond: 1e6, burst: 1e6 } },
  })
  const target = await connectClient(t, address)
  const raw = await RawControl.open(t, address)
  await raw.login(generateIdentity())
  // Thousands of requests whose answers nobody reads: QUIC flow control fills, then the relay's queue.
  const frame = new TextEncoder().encode(JSON.stringify({ t: 'keys', user: target.client.userId, requestId: 1 }))
  const batch = new Uint8Array((4 + frame.byteLength) * 500)
  for (let i = 0; i < 500; i++) {
    const offset = i * (4 + frame.byteLength)
    new DataView(batch.buffer).setUint32(offset, frame.byteLength)
    batch.set(frame, offset + 4)
  }
  const writing = (async () => {
    for (let i = 0; i < 20 && !raw.ended; i++) await raw.writeBytes(batch)
  })().catch(() => {})
  const info = await withTimeout(raw.connection.closed, 30_000, 'the relay disconnects the slow consumer')
  await writing
  assert.equal(info.code, 'queue-full')
  const metrics = await relay.metrics.getSingleMetricAsString('keypin_relay_disconnects_total')
  assert.match(metrics, /reason="slow-consumer"\} 1/)
  // Everyone else is fine.
  assert.equal((await target.client.contactSafetyCode(target.client.userId)).length > 0, true)
})
