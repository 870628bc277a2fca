/**
 * Fixed numbers of protocol version 1. A relay may lower the configurable
 * ones (it announces them in its hello); these are the ceilings.
 */

export const PROTOCOL_VERSION = 1

/** Frame length prefix: 4 bytes, big-endian. */
export const FRAME_HEADER_BYTES = 4

/** Largest frame payload either side accepts (64 KiB). */
export const MAX_FRAME_BYTES = 65_536

/** Largest UTF-8 text the client SDK sends in one message (16 KiB). */
export const MAX_TEXT_BYTES = 16_384

/** Largest sealed message (decoded bytes) a relay accepts by default. */
export const DEFAULT_MAX_MESSAGE_BYTES = 32_768

/** Largest datagram payload (presence, typing) either side parses. */
export const MAX_DATAGRAM_BYTES = 1_024

/** Login nonce length in the relay's hello. */
export const NONCE_BYTES = 32

/** Message ids: 1 to 64 characters of base64url's alphabet (the crypto layer uses 32 hex digits). */
export const MESSAGE_ID = /^[A-Za-z0-9_-]{1,64}$/

/** Room ids: "r" and 26 lowercase base32 characters (128 random bits). */
export const ROOM_ID = /^r[a-z2-7]{26}$/

/** Context of a direct message. */
export const DM_CONTEXT = 'dm'

/** Context of a room message: "room:" and the room id. */
export function roomContext(roomId: string): string {
  return `room:${roomId}`
}

/** The room id a context names, or undefined when it is not a room context. */
export function roomOfContext(context: string): string | undefined {
  if (!context.startsWith('room:')) return undefined
  const id = context.slice(5)
  return ROOM_ID.test(id) ? id : undefined
}

export function isRoomId(value: unknown): value is string {
  return typeof value === 'string' && ROOM_ID.test(value)
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567'

/** A fresh room id from 16 random bytes (Web Crypto, available in browsers and Node). */
export function newRoomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  let out = 'r'
  let buffer = 0
  let bits = 0
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xfff
    bits += 8
    while (bits >= 5) {
      bits -= 5
      out += BASE32[(buffer >>> bits) & 31]
    }
  }
  if (bits > 0) out += BASE32[(buffer << (5 - bits)) & 31]
  return out
}
