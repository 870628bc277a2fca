/**
 * Presence and typing over connection datagrams: peers (room members,
 * direct-message contacts) learn when a user comes and goes and see their
 * typing indicators; strangers do not.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { connectClient, delay, startTestRelay } from './support.js'

test('contacts and room members see presence and typing; strangers do not', { timeout: 30_000 }, async (t) => {
  const { address } = await startTestRelay(t)
  const alice = await connectClient(t, address)
  const bob = await connectClient(t, address)
  const stranger = await connectClient(t, address)
  await alice.client.sendDirect(bob.client.userId, 'we are contacts now')
  await bob.recorder.wait('direct')

  await bob.client.sendTyping(alice.client.userId)
  const [typing] = await alice.recorder.wait('typing')
  assert.deepEqual(typing, { from: bob.client.userId })
  await stranger.client.sendTyping(alice.client.userId)

  const room = await alice.client.createRoom({ ttlMs: 60_000, maxMembers: 3 })
  const carol = await connectClient(t, address)
  await carol.client.joinRoom(room.id)
  await carol.client.sendTyping(room.id)
  const [roomTyping] = await alice.recorder.wait('typing', 1, (e) => e.roomId === room.id)
  assert.deepEqual(roomTyping, { from: carol.client.userId, roomId: room.id })
  await stranger.client.sendTyping(room.id)

  // Bob leaves: Alice (a contact) hears it. Carol comes back: Alice (a room peer) hears it, and Carol learns Alice is online.
  await bob.client.close()
  await alice.recorder.wait('presence', 1, (e) => e.userId === bob.client.userId && !e.online)
  await carol.client.close()
  await alice.recorder.wait('presence', 1, (e) => e.userId === carol.client.userId && !e.online)
  const carolAgain = await connectClient(t, address, carol.identity)
  await alice.recorder.wait('presence', 1, (e) => e.userId === carol.client.userId && e.online)
  await carolAgain.recorder.wait('presence', 1, (e) => e.userId === alice.client.userId && e.online)

  await delay(200)
  assert.ok(alice.recorder.events.typing.every((e) => e.from !== stranger.client.userId), 'no typing from a stranger')
  assert.ok(stranger.recorder.events.presence.length === 0, 'a stranger hears no presence')
})
