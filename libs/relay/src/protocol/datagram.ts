/**
 * Presence and typing indicators ride on connection datagrams: small JSON
 * objects with a version field `v` (1), lost without harm. Anything that
 * does not parse is ignored by both sides; nothing here ever throws.
 *
 *   client -> relay   { v: 1, t: 'typing', to: <user id | room id> }
 *   relay -> client   { v: 1, t: 'typing', from: <user id>, room?: <room id> }
 *   relay -> client   { v: 1, t: 'presence', user: <user id>, online: boolean }
 */
import { isUserId } from '../crypto/index.js'
import { isPlainObject } from './check.js'
import { MAX_DATAGRAM_BYTES, ROOM_ID } from './limits.js'

export const DATAGRAM_VERSION = 1

export interface TypingUp {
  t: 'typing'
  to: string
}
export interface TypingDown {
  t: 'typing'
  from: string
  room?: string
}
export interface PresenceDown {
  t: 'presence'
  user: string
  online: boolean
}

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function encodeDatagram(value: TypingUp | TypingDown | PresenceDown): Uint8Array {
  return encoder.encode(JSON.stringify({ v: DATAGRAM_VERSION, ...value }))
}

function decode(bytes: Uint8Array): Record<string, unknown> | undefined {
  if (bytes.byteLength > MAX_DATAGRAM_BYTES) return undefined
  try {
    const value: unknown = JSON.parse(decoder.decode(bytes))
    if (!isPlainObject(value) || value['v'] !== DATAGRAM_VERSION) return undefined
    return value
  } catch {
    return undefined
  }
}

/** The relay's view of a client datagram; undefined for anything else. */
export function parseUpDatagram(bytes: Uint8Array): TypingUp | undefined {
  const value = decode(bytes)
  const to = value?.['to']
  if (value?.['t'] !== 'typing' || typeof to !== 'string') return undefined
  return isUserId(to) || ROOM_ID.test(to) ? { t: 'typing', to } : undefined
}

/** The client's view of a relay datagram; undefined for anything else. */
export function parseDownDatagram(bytes: Uint8Array): TypingDown | PresenceDown | undefined {
  const value = decode(bytes)
  if (!value) return undefined
  if (value['t'] === 'typing') {
    const from = value['from']
    const room = value['room']
    if (!isUserId(from)) return undefined
    if (room === undefined) return { t: 'typing', from }
    return typeof room === 'string' && ROOM_ID.test(room) ? { t: 'typing', from, room } : undefined
  }
  if (value['t'] === 'presence') {
    const user = value['user']
    const online = value['online']
    if (!isUserId(user) || typeof online !== 'boolean') return undefined
    return { t: 'presence', user, online }
  }
  return undefined
}
