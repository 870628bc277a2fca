/**
 * Direct messages between two real QUIC clients through a real relay:
 * both directions, stored acknowledgements, delivery receipts, safety
 * codes, and the key directory.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isUserId } from '@keypin/relay'
import { connectClient, rejectsWith, startTestRelay } from './support.js'

test('two clients exchange direct messages both ways, with receipts', { timeout: 30_000 }, async (t) => {
  const { address, relay } = await startTestRelay(t)
  const alice = await connectClient(t, address)
  const bob = await connectClient(t, address)
  assert.ok(isUserId(alice.client.userId))
  assert.notEqual(alice.client.userId, bob.client.userId)

  const sent = await alice.client.sendDirect(bob.client.userId, 'hello bob')
  assert.equal(sent.state, 'stored')
  const [got] = await bob.recorder.wait('direct')
  assert.equal(got?.text, 'hello bob')
  assert.equal(got?.from, alice.client.userId)
  assert.equal(got?.id, sent.id)
  assert.ok(Math.abs((got?.sentAt ?? 0) - Date.now()) < 10_000)
  const [receipt] = await alice.recorder.wait('receipt')
  assert.deepEqual(receipt, { id: sent.id, state: 'delivered' })

  const back = await bob.client.sendDirect(alice.client.userId, 'hi alice ✓ — ünïcödé')
  const [reply] = await alice.recorder.wait('direct')
  assert.equal(reply?.text, 'hi alice ✓ — ünïcödé')
  assert.equal(reply?.from, bob.client.userId)
  await bob.recorder.wait('receipt', 1, (r) => r.id === back.id)

  // Many in a row arrive in order.
  const texts = Array.from({ length: 50 }, (_, i) => `message ${i}`)
  for (const text of texts) await alice.client.sendDirect(bob.client.userId, text)
  const all = await bob.recorder.wait('direct', 51)
  assert.deepEqual(all.slice(1).map((m) => m.text), texts)
  await alice.recorder.wait('receipt', 51)
  assert.equal(bob.recorder.events.rejected.length, 0)
  assert.equal(relay.stats.messagesQueued, 0)
  assert.ok(relay.stats.messagesRouted >= 52)
  assert.equal(relay.stats.usersOnline, 2)
})

test('safety codes agree on both sides and unknown users are refused', { timeout: 20_000 }, async (t) => {
  const { address } = await startTestRelay(t)
  const alice = await connectClient(t, address)
  const bob = await connectClient(t, address)
  const fromAlice = await alice.client.contactSafetyCode(bob.client.userId)
  const fromBob = await bob.client.contactSafetyCode(alice.client.userId)
  assert.equal(fromAlice, fromBob)
  assert.notEqual(fromAlice, alice.client.safetyCode)
  const nobody = 'k' + 'a'.repeat(32)
  await rejectsWith(alice.client.sendDirect(nobody, 'anyone?'), 'unknown-user')
  await rejectsWith(alice.client.contactSafetyCode(nobody), 'unknown-user')
  // Bad API input is a typed error naming the problem.
  await rejectsWith(alice.client.sendDirect('bob', 'x'), 'invalid-argument')
  await rejectsWith(alice.client.sendDirect(bob.client.userId, 'x'.repeat(16_385)), 'too-large')
})
