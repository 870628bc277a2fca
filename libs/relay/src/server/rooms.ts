/**
 * Rooms: time-limited groups with a member cap, created, extended and
 * revoked by their creator, joined by anyone who knows the (random) id.
 * Joins and leaves are announced to the online members; revocation and
 * expiry close the room for everyone.
 *
 * The relay holds no room key. A room message is one sealed message per
 * member, sent together in a `room-send` frame; each is stored and
 * delivered exactly like a direct message, with context "room:<id>".
 */
import type { ProtocolErrorCode } from '../protocol/errors.js'
import { newRoomId, roomContext } from '../protocol/limits.js'
import type { RoomCreateRequest, RoomExtendRequest, RoomRequest, RoomSendRequest, WireRoom } from '../protocol/messages.js'
import type { RelayContext } from './context.js'
import type { Session, SessionUser } from './session.js'
import type { RoomRecord } from './store.js'

type RoomLookup = { room: RoomRecord } | { error: ProtocolErrorCode; message: string }

export class Rooms {
  readonly #ctx: () => RelayContext

  constructor(ctx: () => RelayContext) {
    this.#ctx = ctx
  }

  #info(room: RoomRecord): WireRoom {
    return {
      id: room.id,
      creator: room.creator,
      expiresAt: room.expiresAt,
      maxMembers: room.maxMembers,
      members: this.#ctx().store.members(room.id),
    }
  }

  /** Finds a live room; an expired one is closed on the spot. */
  #lookup(id: string): RoomLookup {
    const { store, now } = this.#ctx()
    const room = store.getRoom(id)
    if (!room) return { error: 'unknown-room', message: 'no such room' }
    if (room.expiresAt <= now()) {
      this.close(id, 'expired')
      return { error: 'room-expired', message: 'the room has expired' }
    }
    return { room }
  }

  #announce(roomId: string, frame: { t: 'member-joined' | 'member-left'; room: string; user: string }, except: string): void {
    const { store, online } = this.#ctx()
    for (const member of store.members(roomId)) {
      if (member !== except) online.get(member)?.send(frame)
    }
  }

  create(session: Session, frame: RoomCreateRequest): void {
    const { store, limits, now, metrics, log } = this.#ctx()
    const user = session.user as SessionUser
    if (frame.ttlMs > limits.maxRoomTtlMs) {
      return session.error('too-large', `ttlMs is over this relay's limit of ${limits.maxRoomTtlMs}`, frame.requestId)
    }
    if (frame.maxMembers < 2 || frame.maxMembers > limits.maxRoomMembers) {
      return session.error('too-large', `maxMembers must be between 2 and ${limits.maxRoomMembers}`, frame.requestId)
    }
    if (store.roomCountOf(user.id) >= limits.maxRoomsPerUser) {
      return session.error('too-many-rooms', `a user may be in at most ${limits.maxRoomsPerUser} rooms`, frame.requestId)
    }
    const createdAt = now()
    const room: RoomRecord = { id: newRoomId(), creator: user.id, createdAt, expiresAt: createdAt + frame.ttlMs, maxMembers: frame.maxMembers }
    store.createRoom(room)
    metrics.rooms.set(store.roomCount())
    log({ level: 'info', msg: 'room created', room: room.id, user: user.id, maxMembers: room.maxMembers, expiresAt: room.expiresAt })
    session.reply(frame.requestId, { room: this.#info(room) })
  }

  join(session: Session, frame: RoomRequest): void {
    const { store, limits, now } = this.#ctx()
    const user = session.user as SessionUser
    const found = this.#lookup(frame.room)
    if ('error' in found) return session.error(found.error, found.message, frame.requestId)
    const { room } = found
    if (!store.isMember(room.id, user.id)) {
      if (store.memberCount(room.id) >= room.maxMembers) return session.error('room-full', 'the room is full', frame.requestId)
      if (store.roomCountOf(user.id) >= limits.maxRoomsPerUser) {
        return session.error('too-many-rooms', `a user may be in at most ${limits.maxRoomsPerUser} rooms`, frame.requestId)
      }
      store.addMember(room.id, user.id, now())
      this.#announce(room.id, { t: 'member-joined', room: room.id, user: user.id }, user.id)
    }
    session.reply(frame.requestId, { room: this.#info(room) })
  }

  leave(session: Session, frame: RoomRequest): void {
    const { store } = this.#ctx()
    const user = session.user as SessionUser
    const found = this.#lookup(frame.room)
    if ('error' in found) return session.error(found.error, found.message, frame.requestId)
    if (!store.removeMember(frame.room, user.id)) return session.error('not-room-member', 'not a member of this room', frame.requestId)
    this.#announce(frame.room, { t: 'member-left', room: frame.room, user: user.id }, user.id)
    session.reply(frame.requestId)
  }

  extend(session: Session, frame: RoomExtendRequest): void {
    const { store, limits, now } = this.#ctx()
    const user = session.user as SessionUser
    const found = this.#lookup(frame.room)
    if ('error' in found) return session.error(found.error, found.message, frame.requestId)
    const { room } = found
    if (room.creator !== user.id) return session.error('forbidden', 'only the creator can extend a room', frame.requestId)
    if (frame.ttlMs > limits.maxRoomTtlMs) {
      return session.error('too-large', `ttlMs is over this relay's limit of ${limits.maxRoomTtlMs}`, frame.requestId)
    }
    const expiresAt = Math.max(room.expiresAt, now() + frame.ttlMs)
    store.setRoomExpiry(room.id, expiresAt)
    session.reply(frame.requestId, { room: this.#info({ ...room, expiresAt }) })
  }

  revoke(session: Session, frame: RoomRequest): void {
    const user = session.user as SessionUser
    const found = this.#lookup(frame.room)
    if ('error' in found) return session.error(found.error, found.message, frame.requestId)
    if (found.room.creator !== user.id) return session.error('forbidden', 'only the creator can revoke a room', frame.requestId)
    this.close(frame.room, 'revoked')
    session.reply(frame.requestId)
  }

  members(session: Session, frame: RoomRequest): void {
    const { store } = this.#ctx()
    const user = session.user as SessionUser
    const found = this.#lookup(frame.room)
    if ('error' in found) return session.error(found.error, found.message, frame.requestId)
    if (!store.isMember(frame.room, user.id)) return session.error('not-room-member', 'not a member of this room', frame.requestId)
    const members = store.memberKeys(frame.room).map((record) => ({ user: record.user, publicKey: record.publicKey, prekey: record.prekey }))
    session.reply(frame.requestId, { room: this.#info(found.room), members })
  }

  /**
   * `room-send`: one sealed message per recipient. Each recipient must be a
   * member; a recipient who is not (they left meanwhile) or whose queue is
   * full gets a per-recipient error in the reply, the others are stored.
   */
  send(session: Session, frame: RoomSendRequest): void {
    const { store, metrics, log } = this.#ctx()
    const user = session.user as SessionUser
    if (frame.from !== user.id) return session.error('forbidden', 'from must be the logged-in user', frame.requestId)
    const found = this.#lookup(frame.room)
    if ('error' in found) return session.error(found.error, found.message, frame.requestId)
    if (!store.isMember(frame.room, user.id)) return session.error('not-room-member', 'not a member of this room', frame.requestId)
    const seen = new Set<string>()
    for (const entry of frame.messages) {
      if (entry.to === user.id) return session.error('bad-frame', 'room-send must not address the sender', frame.requestId)
      if (seen.has(entry.to)) return session.error('bad-frame', 'room-send addresses a member twice', frame.requestId)
      seen.add(entry.to)
    }
    if (!this.#ctx().messaging.admit(session, frame.messages.length, frame.requestId)) return
    const members = new Set(store.members(frame.room))
    const context = roomContext(frame.room)
    const results: { to: string; id: string; state?: 'stored'; error?: ProtocolErrorCode }[] = []
    let waiting = frame.messages.length
    const finish = (): void => {
      if (--waiting > 0) return
      session.reply(frame.requestId, { results })
    }
    for (const entry of frame.messages) {
      const result: { to: string; id: string; state?: 'stored'; error?: ProtocolErrorCode } = { to: entry.to, id: entry.id }
      results.push(result)
      if (!members.has(entry.to)) {
        metrics.messagesDropped.inc({ reason: 'not-room-member' })
        result.error = 'not-room-member'
        queueMicrotask(finish)
        continue
      }
      this.#ctx().messaging.accept(session, entry.to, entry.id, context, entry.message, (outcome) => {
        if (outcome === 'stored') result.state = 'stored'
        else result.error = outcome
        finish()
      })
    }
    log({ level: 'debug', msg: 'room message', room: frame.room, user: user.id, recipients: frame.messages.length })
  }

  /** Closes a room: members online are told why, then the room and its memberships are deleted. */
  close(id: string, reason: 'revoked' | 'expired'): void {
    const { store, online, metrics, log } = this.#ctx()
    const members = store.deleteRoom(id)
    metrics.rooms.set(store.roomCount())
    log({ level: 'info', msg: 'room closed', room: id, reason, members: members.length })
    for (const member of members) online.get(member)?.send({ t: 'room-closed', room: id, reason })
  }

  /** Closes every expired room. */
  sweep(): number {
    const { store, now } = this.#ctx()
    let closed = 0
    for (;;) {
      const expired = store.expiredRooms(now(), 500)
      for (const id of expired) this.close(id, 'expired')
      closed += expired.length
      if (expired.length < 500) return closed
    }
  }
}
