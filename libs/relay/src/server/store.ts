/**
 * The relay's durable state in one SQLite file (WAL): the key directory,
 * queued messages, rooms and their members, and who has exchanged direct
 * messages (for presence).
 *
 * Message bodies are stored exactly as they arrived: base64url of the
 * sealed bytes, which the relay cannot read. Message writes are batched:
 * every write queued during one event-loop turn commits in one transaction
 * before any of their callbacks runs, so "stored" is only ever said about
 * committed rows. Other writes (users, rooms) are rare; they first commit
 * any pending batch, then run at once, keeping writes in arrival order.
 */
import { closeSync, openSync } from 'node:fs'
import Database from 'better-sqlite3'
import type { WirePrekey } from '../protocol/messages.js'
import { prepare, SCHEMA, SCHEMA_VERSION, type Statements } from './schema.js'

export interface NewMessage {
  recipient: string
  sender: string
  id: string
  context: string
  body: string
  storedAt: number
  expiresAt: number
}

export interface QueuedMessage extends NewMessage {
  seq: number
  /** The sender's identity public key, base64url. */
  senderKey: string
}

export interface UserRecord {
  user: string
  publicKey: string
  prekey: WirePrekey
  seenAt: number
}

export interface RoomRecord {
  id: string
  creator: string
  createdAt: number
  expiresAt: number
  maxMembers: number
}

export interface InsertResult {
  seq: number
  duplicate: boolean
}

export interface DeletedMessage {
  seq: number
  recipient: string
  sender: string
  id: string
}

type Done<T> = (error: Error | undefined, result: T | undefined) => void

/** A message write waiting for the batch's transaction; `done` runs after the commit (or the failure). */
type PendingWrite =
  | { kind: 'insert'; message: NewMessage; done: Done<InsertResult> }
  | { kind: 'delete'; recipient: string; sender: string; id: string; seq: number | undefined; done: Done<DeletedMessage | undefined> }
  | { kind: 'contact'; a: string; b: string; done: undefined }

/** User ids remembered as existing, at most (the set starts over when full). */
const KNOWN_USERS_CACHE = 100_000

/** Rows one sweep deletes per statement, so a large backlog never blocks the loop for long. */
export const SWEEP_CHUNK = 2_000

export class RelayStore {
  readonly #db: Database.Database
  readonly #pending: PendingWrite[] = []
  #scheduled = false
  #closed = false
  readonly #onCommit: (seconds: number) => void
  readonly #s: Statements
  readonly #knownUsers = new Set<string>()
  /** Runs a batch of writes inside BEGIN ... COMMIT (made once: better-sqlite3 builds wrappers per call to transaction()). */
  readonly #commitBatch: (batch: readonly PendingWrite[], results: unknown[]) => void

  constructor(path: string, options: { synchronous: 'normal' | 'full'; onCommit?: (seconds: number) => void }) {
    // A new database file is created 0600 before SQLite opens it: SQLite
    // gives its -wal and -shm files the database file's mode, and the files
    // hold who wrote to whom and when, even though never what.
    if (path !== ':memory:' && path !== '') closeSync(openSync(path, 'a', 0o600))
    this.#db = new Database(path)
    this.#onCommit = options.onCommit ?? (() => {})
    if (path !== ':memory:') this.#db.pragma('journal_mode = WAL')
    this.#db.pragma(`synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`)
    this.#db.pragma('busy_timeout = 5000')
    this.#db.exec(SCHEMA)
    const version = this.#db.prepare('SELECT value FROM meta WHERE key = ?').get('schema') as { value: string } | undefined
    if (version === undefined) {
      this.#db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('schema', String(SCHEMA_VERSION))
    } else if (version.value !== String(SCHEMA_VERSION)) {
      this.#db.close()
      throw new Error(`relay database schema version ${version.value} is not ${SCHEMA_VERSION}`)
    }
    this.#s = prepare(this.#db)
    this.#commitBatch = this.#db.transaction((batch: readonly PendingWrite[], results: unknown[]) => {
      for (const write of batch) results.push(this.#apply(write))
    })
  }

  get closed(): boolean {
    return this.#closed
  }

  // ---- batched message writes -------------------------------------------

  /** Queues a message insert. A message already stored (same recipient, sender and id) is a duplicate, not an error. */
  insertMessage(message: NewMessage, done: Done<InsertResult>): void {
    this.#queue({ kind: 'insert', message, done })
  }

  /**
   * Queues the deletion of a recipient's message, by its sequence number when
   * known (cheaper: the caller vouches that `sender` and `id` are that
   * message's, as the delivery window does) or by its key; the result is the
   * deleted message, if any.
   */
  deleteMessage(recipient: string, sender: string, id: string, seq: number | undefined, done: Done<DeletedMessage | undefined>): void {
    this.#queue({ kind: 'delete', recipient, sender, id, seq, done })
  }

  /** Queues remembering that two users exchanged a direct message. */
  addContact(a: string, b: string): void {
    this.#queue({ kind: 'contact', a, b, done: undefined })
  }

  #queue(write: PendingWrite): void {
    if (this.#closed) {
      const done = write.done as Done<unknown> | undefined
      if (done) queueMicrotask(() => done(new Error('the relay store is closed'), undefined))
      return
    }
    this.#pending.push(write)
    if (!this.#scheduled) {
      this.#scheduled = true
      setImmediate(() => this.flush())
    }
  }

  /** One write, inside the batch's transaction. */
  #apply(write: PendingWrite): InsertResult | DeletedMessage | undefined {
    const s = this.#s
    switch (write.kind) {
      case 'insert': {
        const m = write.message
        const { changes, lastInsertRowid } = s.insertMessage.run(m.recipient, m.sender, m.id, m.context, m.body, m.storedAt, m.expiresAt)
        if (changes > 0) return { seq: Number(lastInsertRowid), duplicate: false }
        const existing = s.findMessage.get(m.recipient, m.sender, m.id) as { seq: number }
        return { seq: existing.seq, duplicate: true }
      }
      case 'delete': {
        const { recipient, sender, id, seq } = write
        if (seq === undefined) return s.deleteMessage.get(recipient, sender, id) as DeletedMessage | undefined
        // The caller knows which message has this sequence number: no need to read the row back.
        return s.deleteBySeq.run(seq, recipient).changes > 0 ? { seq, recipient, sender, id } : undefined
      }
      case 'contact':
        s.addContact.run(write.a, write.b)
        s.addContact.run(write.b, write.a)
        return undefined
    }
  }

  /** Commits every queued write in one transaction, then runs their callbacks in order. */
  flush(): void {
    this.#scheduled = false
    if (this.#pending.length === 0) return
    const batch = this.#pending.splice(0)
    const results: unknown[] = []
    let failure: Error | undefined
    const started = performance.now()
    try {
      this.#commitBatch(batch, results)
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error))
    }
    this.#onCommit((performance.now() - started) / 1000)
    for (let index = 0; index < batch.length; index++) {
      const done = batch[index]?.done as Done<unknown> | undefined
      if (!done) continue
      try {
        done(failure, failure ? undefined : results[index])
      } catch {
        // A callback's failure is its own; the others still run.
      }
    }
  }

  // ---- reads and immediate writes -----------------------------------------

  /** Messages for `recipient` after `afterSeq`, oldest first, skipping expired ones. */
  queuedFor(recipient: string, afterSeq: number, now: number, limit: number): QueuedMessage[] {
    return this.#s.queuedFor.all(recipient, afterSeq, now, limit) as QueuedMessage[]
  }

  /** Stored message count per recipient. */
  queueCounts(): Map<string, number> {
    const rows = this.#s.queueCounts.all() as { recipient: string; n: number }[]
    return new Map(rows.map((row) => [row.recipient, row.n]))
  }

  /** Deletes up to one chunk of expired messages; returns the deleted rows. */
  deleteExpiredMessages(now: number): DeletedMessage[] {
    this.flush()
    return this.#s.deleteExpired.all(now, SWEEP_CHUNK) as DeletedMessage[]
  }

  upsertUser(record: UserRecord): void {
    this.flush()
    const { prekey } = record
    this.#s.upsertUser.run(record.user, record.publicKey, prekey.id, prekey.publicKey, prekey.createdAt, prekey.signature, record.seenAt)
    this.#rememberUser(record.user)
  }

  touchUser(user: string, seenAt: number): void {
    this.flush()
    this.#s.touchUser.run(seenAt, user)
  }

  /** Whether `user` is in the key directory (cached; the directory only shrinks in pruneUsers). */
  hasUser(user: string): boolean {
    if (this.#knownUsers.has(user)) return true
    if (this.#s.hasUser.get(user) === undefined) return false
    this.#rememberUser(user)
    return true
  }

  #rememberUser(user: string): void {
    if (this.#knownUsers.size >= KNOWN_USERS_CACHE) this.#knownUsers.clear()
    this.#knownUsers.add(user)
  }

  getUser(user: string): UserRecord | undefined {
    const row = this.#s.getUser.get(user) as UserRow | undefined
    return row && userFromRow(row)
  }

  /** Forgets users not seen since `before` who have nothing queued and are in no room. */
  pruneUsers(before: number): number {
    this.flush()
    const removed = this.#s.pruneUsers.run(before).changes
    if (removed > 0) this.#knownUsers.clear()
    return removed
  }

  contactsOf(user: string, limit: number): string[] {
    return (this.#s.contactsOf.all(user, limit) as { peer_id: string }[]).map((row) => row.peer_id)
  }

  isContact(user: string, peer: string): boolean {
    return this.#s.isContact.get(user, peer) !== undefined
  }

  // ---- rooms ---------------------------------------------------------------

  createRoom(room: RoomRecord): void {
    this.flush()
    this.#db.transaction(() => {
      this.#s.createRoom.run(room.id, room.creator, room.createdAt, room.expiresAt, room.maxMembers)
      this.#s.addMember.run(room.id, room.creator, room.createdAt)
    })()
  }

  getRoom(id: string): RoomRecord | undefined {
    const row = this.#s.getRoom.get(id) as RoomRow | undefined
    return row && { id: row.id, creator: row.creator, createdAt: row.created_at, expiresAt: row.expires_at, maxMembers: row.max_members }
  }

  setRoomExpiry(id: string, expiresAt: number): void {
    this.flush()
    this.#s.setRoomExpiry.run(expiresAt, id)
  }

  /** Deletes a room and its memberships; returns the members it had. */
  deleteRoom(id: string): string[] {
    this.flush()
    return this.#db.transaction(() => {
      const members = this.members(id)
      this.#s.deleteMembers.run(id)
      this.#s.deleteRoom.run(id)
      return members
    })()
  }

  members(roomId: string): string[] {
    return (this.#s.members.all(roomId) as { user_id: string }[]).map((row) => row.user_id)
  }

  /** Members with their directory entries (members missing from the directory are left out). */
  memberKeys(roomId: string): UserRecord[] {
    return (this.#s.memberKeys.all(roomId) as UserRow[]).map(userFromRow)
  }

  isMember(roomId: string, user: string): boolean {
    return this.#s.isMember.get(roomId, user) !== undefined
  }

  memberCount(roomId: string): number {
    return (this.#s.memberCount.get(roomId) as { n: number }).n
  }

  addMember(roomId: string, user: string, joinedAt: number): void {
    this.flush()
    this.#s.addMember.run(roomId, user, joinedAt)
  }

  removeMember(roomId: string, user: string): boolean {
    this.flush()
    return this.#s.removeMember.run(roomId, user).changes > 0
  }

  roomCountOf(user: string): number {
    return (this.#s.roomCountOf.get(user) as { n: number }).n
  }

  roomCount(): number {
    return (this.#s.roomCount.get() as { n: number }).n
  }

  /** Users sharing at least one room with `user`. */
  roomPeersOf(user: string, limit: number): string[] {
    return (this.#s.roomPeersOf.all(user, user, limit) as { user_id: string }[]).map((row) => row.user_id)
  }

  expiredRooms(now: number, limit: number): string[] {
    return (this.#s.expiredRooms.all(now, limit) as { id: string }[]).map((row) => row.id)
  }

  /** Commits pending writes and closes the database. Later writes fail. */
  close(): void {
    if (this.#closed) return
    this.flush()
    this.#closed = true
    this.#db.close()
  }
}

interface UserRow {
  id: string
  public_key: string
  prekey_id: number
  prekey_public: string
  prekey_created: number
  prekey_signature: string
  seen_at: number
}

interface RoomRow {
  id: string
  creator: string
  created_at: number
  expires_at: number
  max_members: number
}

function userFromRow(row: UserRow): UserRecord {
  return {
    user: row.id,
    publicKey: row.public_key,
    prekey: { id: row.prekey_id, publicKey: row.prekey_public, createdAt: row.prekey_created, signature: row.prekey_signature },
    seenAt: row.seen_at,
  }
}
