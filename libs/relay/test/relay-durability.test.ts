/**
 * Durability: a relay killed with SIGKILL and restarted on the same
 * identity, port and database loses nothing it said "stored" for, and
 * its rooms and memberships come back with it.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateIdentity, MemoryStateStore } from '@keypin/relay'
import { startRelayChild } from './child-support.js'
import { connectClient } from './support.js'

test('SIGKILL after "stored" loses nothing: the restarted relay delivers every message and keeps its rooms', { timeout: 90_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keypin-relay-durability-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const database = join(dir, 'relay.db')
  const identityFile = join(dir, 'identity.pem')
  const first = await startRelayChild(t, database, identityFile)

  const bobIdentity = generateIdentity()
  const bobStore = new MemoryStateStore()
  const bobFirst = await connectClient(t, first.address, bobIdentity, { store: bobStore })
  await bobFirst.client.close()

  const aliceIdentity = generateIdentity()
  const alice = await connectClient(t, first.address, aliceIdentity)
  // A room with both of them, which must survive too.
  const room = await alice.client.createRoom({ ttlMs: 600_000, maxMembers: 3 })
  const bobJoin = await connectClient(t, first.address, bobIdentity, { store: bobStore })
  await bobJoin.client.joinRoom(room.id)
  await bobJoin.client.close()
  const count = 300
  const texts = Array.from({ length: count }, (_, i) => `durable ${i}`)
  // Concurrent sends: many land in the same commit batch.
  const sent = await Promise.all(texts.map((text) => alice.client.sendDirect(bobFirst.client.userId, text)))
  assert.ok(sent.every((m) => m.state === 'stored'))
  // Killed right after the last "stored": no graceful close, no checkpoint.
  await first.kill()
  await alice.connection.close()

  const second = await startRelayChild(t, database, identityFile, first.port)
  assert.equal(second.address, first.address, 'same identity and port, same address')
  const stats = await second.request<{ messagesQueued: number }>({ cmd: 'stats' }, 'stats')
  assert.equal(stats.messagesQueued, count)

  const bob = await connectClient(t, second.address, bobIdentity, { store: bobStore })
  const received = await bob.recorder.wait('direct', count, () => true, 30_000)
  assert.deepEqual(new Set(received.map((m) => m.text)), new Set(texts))
  assert.deepEqual(new Set(received.map((m) => m.id)), new Set(sent.map((m) => m.id)))
  assert.equal(bob.recorder.events.rejected.length, 0)

  // The room and its members came back from the database.
  const aliceAgain = await connectClient(t, second.address, aliceIdentity)
  const [roomCopy] = await aliceAgain.client.sendRoom(room.id, 'the room survived')
  assert.equal(roomCopy?.state, 'stored')
  const [roomMessage] = await bob.recorder.wait('room')
  assert.deepEqual([roomMessage?.roomId, roomMessage?.text], [room.id, 'the room survived'])
  await bob.client.close()
})
