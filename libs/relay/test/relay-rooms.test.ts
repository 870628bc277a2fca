/**
 * Rooms over a real relay: create, join, send (sealed per member), leave,
 * with the member events; the creator's extend and revoke; caps; expiry.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isRoomId, MemoryStateStore } from '@keypin/relay'
import { connectClient, delay, rejectsWith, startTestRelay, waitUntil } from './support.js'

test('create, join, send, leave: members hear each other and the joins and leaves', { timeout: 30_000 }, async (t) => {
  const { address } = await startTestRelay(t)
  const alice = await connectClient(t, address)
  const bob = await connectClient(t, address)
  const carol = await connectClient(t, address)

  const room = await alice.client.createRoom({ ttlMs: 60_000, maxMembers: 5 })
  assert.ok(isRoomId(room.id))
  assert.equal(room.creator, alice.client.userId)
  assert.deepEqual(room.members, [alice.client.userId])
  assert.equal(room.maxMembers, 5)
  assert.ok(room.expiresAt > Date.now() + 50_000)

  const joined = await bob.client.joinRoom(room.id)
  assert.deepEqual(joined.members, [alice.client.userId, bob.client.userId])
  await alice.recorder.wait('member-joined', 1, (e) => e.userId === bob.client.userId && e.roomId === room.id)
  await carol.client.joinRoom(room.id)
  await alice.recorder.wait('member-joined', 1, (e) => e.userId === carol.client.userId)
  await bob.recorder.wait('member-joined', 1, (e) => e.userId === carol.client.userId)

  const sent = await alice.client.sendRoom(room.id, 'hello room')
  assert.equal(sent.length, 2)
  assert.ok(sent.every((m) => m.state === 'stored'))
  for (const member of [bob, carol]) {
    const [message] = await member.recorder.wait('room')
    assert.deepEqual({ ...message, id: undefined, sentAt: undefined }, { roomId: room.id, id: undefined, from: alice.client.userId, text: 'hello room', sentAt: undefined })
  }
  await alice.recorder.wait('receipt', 2)

  await carol.client.leaveRoom(room.id)
  await alice.recorder.wait('member-left', 1, (e) => e.userId === carol.client.userId && e.roomId === room.id)
  await bob.recorder.wait('member-left', 1, (e) => e.userId === carol.client.userId)
  const fromBob = await bob.client.sendRoom(room.id, 'carol is gone')
  assert.equal(fromBob.length, 1)
  await alice.recorder.wait('room', 1, (m) => m.text === 'carol is gone')
  await rejectsWith(carol.client.sendRoom(room.id, 'let me in'), 'not-room-member')
  await rejectsWith(carol.client.leaveRoom(room.id), 'not-room-member')
  await delay(200)
  assert.equal(carol.recorder.events.room.filter((m) => m.text === 'carol is gone').length, 0)
  for (const member of [alice, bob, carol]) assert.equal(member.recorder.events.rejected.length, 0)
})

test('only the creator extends or revokes; revoking closes the room for its members', { timeout: 30_000 }, async (t) => {
  const { address } = await startTestRelay(t)
  const alice = await connectClient(t, address)
  const bob = await connectClient(t, address)
  const room = await alice.client.createRoom({ ttlMs: 10_000, maxMembers: 2 })
  await bob.client.joinRoom(room.id)
  await rejectsWith(bob.client.extendRoom(room.id, 60_000), 'forbidden')
  await rejectsWith(bob.client.revokeRoom(room.id), 'forbidden')
  const extended = await alice.client.extendRoom(room.id, 3_600_000)
  assert.ok(extended.expiresAt > room.expiresAt + 3_000_000)

  const carol = await connectClient(t, address)
  await rejectsWith(carol.client.joinRoom(room.id), 'room-full')

  await alice.client.revokeRoom(room.id)
  const [closed] = await bob.recorder.wait('room-closed')
  assert.deepEqual(closed, { roomId: room.id, reason: 'revoked' })
  await alice.recorder.wait('room-closed')
  await rejectsWith(carol.client.joinRoom(room.id), 'unknown-room')
  await rejectsWith(bob.client.sendRoom(room.id, 'anyone?'), 'unknown-room')
})

test('room caps are enforced with typed errors', { timeout: 20_000 }, async (t) => {
  const { address } = await startTestRelay(t, { limits: { maxRoomMembers: 4, maxRoomTtlMs: 60_000, maxRoomsPerUser: 2 } })
  const alice = await connectClient(t, address)
  await rejectsWith(alice.client.createRoom({ ttlMs: 60_001, maxMembers: 2 }), 'too-large')
  await rejectsWith(alice.client.createRoom({ ttlMs: 1_000, maxMembers: 5 }), 'too-large')
  await rejectsWith(alice.client.createRoom({ ttlMs: 0, maxMembers: 2 }), 'invalid-argument')
  await rejectsWith(alice.client.joinRoom('not-a-room'), 'invalid-argument')
  await alice.client.createRoom({ ttlMs: 1_000, maxMembers: 2 })
  await alice.client.createRoom({ ttlMs: 1_000, maxMembers: 2 })
  await rejectsWith(alice.client.createRoom({ ttlMs: 1_000, maxMembers: 2 }), 'too-many-rooms')
})

test('an expired room is closed for its members and refuses joins and messages', { timeout: 20_000 }, async (t) => {
  let clock = Date.now()
  const { address, relay } = await startTestRelay(t, { now: () => clock, limits: { sweepIntervalMs: 20 } })
  const alice = await connectClient(t, address)
  const bob = await connectClient(t, address)
  const room = await alice.client.createRoom({ ttlMs: 30_000, maxMembers: 3 })
  await bob.client.joinRoom(room.id)
  assert.equal(relay.stats.rooms, 1)
  clock += 30_000
  const [closed] = await bob.recorder.wait('room-closed')
  assert.deepEqual(closed, { roomId: room.id, reason: 'expired' })
  await alice.recorder.wait('room-closed')
  assert.equal(relay.stats.rooms, 0)
  await rejectsWith(bob.client.sendRoom(room.id, 'late'), 'unknown-room')
})

test('a room message to an offline member waits for them like a direct message', { timeout: 30_000 }, async (t) => {
  const { address, relay } = await startTestRelay(t)
  const alice = await connectClient(t, address)
  const bobStore = new MemoryStateStore()
  const bobFirst = await connectClient(t, address, undefined, { store: bobStore })
  const room = await alice.client.createRoom({ ttlMs: 60_000, maxMembers: 3 })
  await bobFirst.client.joinRoom(room.id)
  await bobFirst.client.close()
  await waitUntil(() => relay.stats.usersOnline === 1, 5_000, 'bob is offline')
  const [sent] = await alice.client.sendRoom(room.id, 'while you were away')
  assert.equal(sent?.state, 'stored')
  const bob = await connectClient(t, address, bobFirst.identity, { store: bobStore })
  const [message] = await bob.recorder.wait('room')
  assert.equal(message?.text, 'while you were away')
  assert.equal(message?.roomId, room.id)
  assert.equal(message?.id, sent?.id)
})
