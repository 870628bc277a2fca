/**
 * The frames of relay protocol version 1, as TypeScript types, with the
 * strict parser the relay runs on every client frame. Section 8 of the
 * repository's SPEC.md is the prose form of this file.
 *
 * Binary fields are base64url strings. User ids, room ids and message ids
 * have fixed shapes (limits.ts). Every request carries a client-chosen
 * `requestId` (an integer) and gets exactly one `ok` or `error` frame back
 * with the same id.
 */
import { FieldReader, FrameError, decodeJsonObject } from './check.js'
import type { ProtocolErrorCode } from './errors.js'

/** A signed prekey as it travels: binary fields in base64url. */
export interface WirePrekey {
  id: number
  publicKey: string
  createdAt: number
  signature: string
}

export interface ClientHello {
  t: 'hello'
  v: number
}
export interface LoginRequest {
  t: 'login'
  requestId: number
  publicKey: string
  signature: string
  prekey: WirePrekey
}
export interface KeysRequest {
  t: 'keys'
  requestId: number
  user: string
}
export interface PrekeyRequest {
  t: 'prekey'
  requestId: number
  prekey: WirePrekey
}
export interface SendRequest {
  t: 'send'
  requestId: number
  from: string
  to: string
  id: string
  context: string
  message: string
}
export interface AckFrame {
  t: 'ack'
  from: string
  id: string
}
export interface RoomCreateRequest {
  t: 'room-create'
  requestId: number
  ttlMs: number
  maxMembers: number
}
export interface RoomRequest {
  t: 'room-join' | 'room-leave' | 'room-revoke' | 'room-members'
  requestId: number
  room: string
}
export interface RoomExtendRequest {
  t: 'room-extend'
  requestId: number
  room: string
  ttlMs: number
}
export interface RoomSendEntry {
  to: string
  id: string
  message: string
}
export interface RoomSendRequest {
  t: 'room-send'
  requestId: number
  room: string
  from: string
  messages: RoomSendEntry[]
}

export type ClientFrame =
  | ClientHello
  | LoginRequest
  | KeysRequest
  | PrekeyRequest
  | SendRequest
  | AckFrame
  | RoomCreateRequest
  | RoomRequest
  | RoomExtendRequest
  | RoomSendRequest

export type RequestFrame = Exclude<ClientFrame, ClientHello | AckFrame>

/** What a relay announces in its hello; clients size their frames by it. */
export interface HelloLimits {
  maxFrameBytes: number
  maxMessageBytes: number
  messageTtlMs: number
  maxRoomMembers: number
  maxRoomTtlMs: number
}

export interface ServerHello {
  t: 'hello'
  v: number
  nonce: string
  certhash: string
  limits: HelloLimits
}

export interface WireRoom {
  id: string
  creator: string
  expiresAt: number
  maxMembers: number
  members: string[]
}

export interface WireMember {
  user: string
  publicKey: string
  prekey: WirePrekey
}

export interface OkFrame {
  t: 'ok'
  requestId: number
  [field: string]: unknown
}

export interface ErrorFrame {
  t: 'error'
  code: ProtocolErrorCode
  message: string
  requestId?: number
  retryAfterMs?: number
}

export interface MessageFrame {
  t: 'message'
  from: string
  /** The sender's identity public key (the client checks it against `from`). */
  fromKey: string
  id: string
  context: string
  message: string
  storedAt: number
}

export interface ReceiptFrame {
  t: 'receipt'
  id: string
  to: string
  state: 'delivered'
}

export interface MemberFrame {
  t: 'member-joined' | 'member-left'
  room: string
  user: string
}

export interface RoomClosedFrame {
  t: 'room-closed'
  room: string
  reason: 'revoked' | 'expired'
}

export type ServerFrame = ServerHello | OkFrame | ErrorFrame | MessageFrame | ReceiptFrame | MemberFrame | RoomClosedFrame

/** Size limits the parser applies. */
export interface ParseLimits {
  /** Largest sealed message, decoded bytes. */
  maxMessageBytes: number
  /** Largest number of recipients in one room-send frame. */
  maxRoomMembers: number
}

const MAX_REQUEST_ID = 2 ** 53 - 1
const MAX_U32 = 0xffff_ffff
const MAX_TIME = 2 ** 53 - 1

/**
 * Parses one client frame payload. Throws {@link FrameError}: fatal when the
 * payload is not a JSON object with a type, otherwise carrying the request
 * id (when one could be read) so the error frame can answer the request.
 */
export function parseClientFrame(payload: Uint8Array, limits: ParseLimits): ClientFrame {
  const { t, fields } = decodeJsonObject(payload)
  if (t === 'hello') {
    const v = fields['v']
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new FrameError('hello: v must be a version number', undefined, true)
    return { t, v }
  }
  if (t === 'ack') {
    const r = new FieldReader(fields, 'ack')
    return { t, from: r.userId('from'), id: r.messageId('id') }
  }
  const rawId = fields['requestId']
  if (typeof rawId !== 'number' || !Number.isSafeInteger(rawId) || rawId < 0 || rawId > MAX_REQUEST_ID) {
    throw new FrameError(`${t.length <= 32 ? t : 'frame'}: requestId must be a non-negative integer`)
  }
  const requestId = rawId
  const r = new FieldReader(fields, t, requestId)
  switch (t) {
    case 'login':
      return { t, requestId, publicKey: r.base64url('publicKey', 32, 32), signature: r.base64url('signature', 64, 64), prekey: readPrekey(r, 'prekey') }
    case 'keys':
      return { t, requestId, user: r.userId('user') }
    case 'prekey':
      return { t, requestId, prekey: readPrekey(r, 'prekey') }
    case 'send':
      return {
        t,
        requestId,
        from: r.userId('from'),
        to: r.userId('to'),
        id: r.messageId('id'),
        context: r.string('context', 300),
        message: readMessage(r, 'message', limits.maxMessageBytes),
      }
    case 'room-create':
      return { t, requestId, ttlMs: r.integer('ttlMs', 1, MAX_TIME), maxMembers: r.integer('maxMembers', 1, MAX_U32) }
    case 'room-join':
    case 'room-leave':
    case 'room-revoke':
    case 'room-members':
      return { t, requestId, room: r.roomId('room') }
    case 'room-extend':
      return { t, requestId, room: r.roomId('room'), ttlMs: r.integer('ttlMs', 1, MAX_TIME) }
    case 'room-send': {
      const messages = r.objects('messages', limits.maxRoomMembers).map((entry) => ({
        to: entry.userId('to'),
        id: entry.messageId('id'),
        message: readMessage(entry, 'message', limits.maxMessageBytes),
      }))
      if (messages.length === 0) r.fail('messages must not be empty')
      return { t, requestId, room: r.roomId('room'), from: r.userId('from'), messages }
    }
    default:
      throw new FrameError(`unknown frame type (${t.length <= 32 ? JSON.stringify(t) : 'a long string'})`, requestId)
  }
}

/** A sealed message field; over-size is reported as `too-large`, not as a malformed frame. */
function readMessage(r: FieldReader, name: string, maxBytes: number): string {
  const value = r.base64url(name, Number.MAX_SAFE_INTEGER)
  if (Math.floor((value.length * 3) / 4) > maxBytes) throw new TooLargeError(`${name} is over the ${maxBytes}-byte message limit`, r.requestId)
  if (value.length === 0) r.fail(`${name} must not be empty`)
  return value
}

function readPrekey(r: FieldReader, name: string): WirePrekey {
  const p = r.object(name)
  return {
    id: p.integer('id', 0, MAX_U32),
    publicKey: p.base64url('publicKey', 32, 32),
    createdAt: p.integer('createdAt', 0, MAX_TIME),
    signature: p.base64url('signature', 64, 64),
  }
}

/** A message over the size limit: answered with `too-large` rather than `bad-frame`. */
export class TooLargeError extends FrameError {
  override readonly name = 'TooLargeError'
}
