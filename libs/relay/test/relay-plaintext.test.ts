/**
 * The relay never holds plaintext. Messages (direct and room, delivered and
 * still queued) carry a unique marker; the relay process's heap snapshot,
 * its SQLite database and WAL, and its logs are searched for the marker as
 * UTF-8 and UTF-16LE and must not contain it. The same search must find the
 * marker where it does exist (the clients' process, which decrypted it), so
 * the search itself can fail.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { writeHeapSnapshot } from 'node:v8'
import { MemoryStateStore } from '@keypin/relay'
import { startRelayChild } from './child-support.js'
import { connectClient } from './support.js'

/** Where `marker` occurs in `data`, as UTF-8 or as UTF-16LE. */
function find(data: Buffer, marker: string): string[] {
  const found: string[] = []
  if (data.includes(Buffer.from(marker, 'utf8'))) found.push('utf-8')
  if (data.includes(Buffer.from(marker, 'utf16le'))) found.push('utf-16le')
  return found
}

async function readIfExists(file: string): Promise<Buffer> {
  try {
    return await readFile(file)
  } catch {
    return Buffer.alloc(0)
  }
}

test('no plaintext in the relay: heap snapshot, database, WAL and logs', { timeout: 180_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keypin-relay-plaintext-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const database = join(dir, 'relay.db')
  const child = await startRelayChild(t, database, join(dir, 'identity.pem'))
  const marker = `PLAINTEXT-MARKER-${randomBytes(12).toString('hex')}`

  const alice = await connectClient(t, child.address)
  const bob = await connectClient(t, child.address)
  const carol = await connectClient(t, child.address)
  const daveStore = new MemoryStateStore()
  const dave = await connectClient(t, child.address, undefined, { store: daveStore })
  const room = await alice.client.createRoom({ ttlMs: 600_000, maxMembers: 4 })
  for (const member of [bob, carol, dave]) await member.client.joinRoom(room.id)
  await dave.client.close()

  // Delivered (bob, carol) and queued (dave, offline) copies, direct and room.
  for (let i = 0; i < 5; i++) {
    await alice.client.sendDirect(bob.client.userId, `dm ${i} ${marker}`)
    await alice.client.sendDirect(dave.client.userId, `queued dm ${i} ${marker}`)
    await bob.client.sendRoom(room.id, `room ${i} ${marker} ünïcödé`)
  }
  const got = await bob.recorder.wait('direct', 5)
  assert.ok(got.every((m) => m.text.includes(marker)), 'bob decrypted the marker')
  await carol.recorder.wait('room', 5)
  const queued = (await child.request<{ messagesQueued: number }>({ cmd: 'stats' }, 'stats')).messagesQueued
  assert.ok(queued >= 10, `dave's messages wait in the relay's store (${queued} queued)`)

  // The relay process's memory.
  const relayHeap = join(dir, 'relay.heapsnapshot')
  await child.request({ cmd: 'heap', file: relayHeap }, 'heap')
  const relayHeapBytes = await readFile(relayHeap)
  assert.ok(relayHeapBytes.byteLength > 1_000_000, 'a real heap snapshot')
  assert.deepEqual(find(relayHeapBytes, marker), [], 'marker in the relay heap')
  // Control: the snapshot does hold what the relay legitimately knows (user ids).
  assert.notDeepEqual(find(relayHeapBytes, dave.client.userId), [], 'the relay heap search finds user ids')

  // The database and its write-ahead log, which hold dave's queued messages.
  const db = await readFile(database)
  const wal = await readIfExists(`${database}-wal`)
  assert.ok(db.byteLength + wal.byteLength > 0)
  assert.deepEqual(find(db, marker), [], 'marker in the database')
  assert.deepEqual(find(wal, marker), [], 'marker in the WAL')
  assert.notDeepEqual(find(Buffer.concat([db, wal]), dave.client.userId), [], 'the database search finds the queued recipient')

  // The logs.
  const logs = Buffer.from(child.stderr(), 'utf8')
  assert.ok(logs.byteLength > 0, 'the relay logged something')
  assert.deepEqual(find(logs, marker), [], 'marker in the logs')
  assert.notDeepEqual(find(logs, alice.client.userId), [], 'the logs name users')

  // Control: the same search finds the marker in this process, whose clients decrypted it.
  const clientHeap = join(dir, 'client.heapsnapshot')
  writeHeapSnapshot(clientHeap)
  assert.ok((await stat(clientHeap)).size > 0)
  assert.notDeepEqual(find(await readFile(clientHeap), marker), [], 'the marker is found where it does exist')
  // And as UTF-16LE where it is stored that way.
  assert.deepEqual(find(Buffer.from(`x${marker}y`, 'utf16le'), marker), ['utf-16le'])
})
