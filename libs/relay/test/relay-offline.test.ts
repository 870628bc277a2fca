/**
 * Offline delivery: messages to a user who is not connected wait in the
 * relay's store, arrive in order at the next login, and leave the store
 * only once the recipient has acknowledged them. Queue cap and TTL sweep.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateIdentity, MemoryStateStore } from '@keypin/relay'
import { connectClient, delay, RawControl, rejectsWith, startTestRelay, waitUntil } from './support.js'

test('a message to an offline user is delivered at its next login and deleted only after the ack', { timeout: 30_000 }, async (t) => {
  const { address, relay } = await startTestRelay(t)
  const bobIdentity = generateIdentity()
  const bobStore = new MemoryStateStore()
  // Bob registers (publishes his prekey), then leaves.
  const first = await connectClient(t, address, bobIdentity, { store: bobStore })
  await first.client.close()
  await waitUntil(() => relay.stats.usersOnline === 0, 5_000, 'bob is offline')

  const alice = await connectClient(t, address)
  const texts = ['one', 'two', 'three']
  const sent = []
  for (const text of texts) sent.push(await alice.client.sendDirect(first.client.userId, text))
  assert.deepEqual(sent.map((m) => m.state), ['stored', 'stored', 'stored'])
  assert.equal(relay.stats.messagesQueued, 3)

  // A raw login as Bob that never acknowledges: the messages come, and stay queued.
  const raw = await RawControl.open(t, address)
  const login = await raw.login(bobIdentity)
  assert.equal(login['t'], 'ok')
  assert.equal(login['queued'], 3)
  const frames = [await raw.nextOf('message'), await raw.nextOf('message'), await raw.nextOf('message')]
  assert.deepEqual(frames.map((f) => f['id']), sent.map((m) => m.id))
  assert.ok(frames.every((f) => f['from'] === alice.client.userId && f['context'] === 'dm'))
  await delay(200)
  assert.equal(relay.stats.messagesQueued, 3, 'nothing is deleted before an ack')
  await raw.connection.close()

  // Bob logs in with the SDK (same store: his prekey secrets): everything arrives, in order.
  const bob = await connectClient(t, address, bobIdentity, { store: bobStore })
  const got = await bob.recorder.wait('direct', 3)
  assert.deepEqual(got.map((m) => m.text), texts)
  await waitUntil(() => relay.stats.messagesQueued === 0, 5_000, 'the acknowledged messages are deleted')
  // Alice is online, so she hears about each delivery.
  await alice.recorder.wait('receipt', 3)
  assert.equal(bob.recorder.events.rejected.length, 0)
})

test('the per-user queue cap refuses with queue-full, and the TTL sweep deletes expired messages', { timeout: 30_000 }, async (t) => {
  let clock = Date.now()
  const { address, relay } = await startTestRelay(t, {
    now: () => clock,
    limits: { maxQueuePerUser: 5, messageTtlMs: 60_000, sweepIntervalMs: 20 },
  })
  const bob = await connectClient(t, address)
  await bob.client.close()
  await waitUntil(() => relay.stats.usersOnline === 0, 5_000, 'bob is offline')
  const alice = await connectClient(t, address)
  for (let i = 0; i < 5; i++) await alice.client.sendDirect(bob.client.userId, `m${i}`)
  const error = await rejectsWith(alice.client.sendDirect(bob.client.userId, 'one too many'), 'queue-full')
  assert.match(error.message, /queue is full/)
  assert.equal(relay.stats.messagesQueued, 5)

  clock += 60_001
  await waitUntil(() => relay.stats.messagesQueued === 0, 5_000, 'the sweep deletes expired messages')
  // The queue has room again.
  assert.equal((await alice.client.sendDirect(bob.client.userId, 'fresh')).state, 'stored')
})
