/**
 * STUN (RFC 5389) byte work for the server's ICE-lite guard.
 *
 * Before the server creates any per-peer WebRTC state it checks the first
 * Binding request itself: parse it, split USERNAME into the two ufrags
 * (rejecting anything node-datachannel could choke on), derive the server
 * password from the first half (`pwd(U)` classic, `pwd(sU)` no-munge: both
 * are "pwd of the first half") and verify MESSAGE-INTEGRITY with it. A
 * request made without the certhash fails that check and gets no answer.
 *
 * Also builds Binding requests, for tests and fuzzers. This file does no I/O,
 * sends no responses and implements no ICE state; it is not a general STUN
 * stack (no long-term credentials, no SASLprep, no address attributes).
 */
import { hmac } from '@noble/hashes/hmac.js'
import { sha1 } from '@noble/hashes/legacy.js'
import { digestsEqual } from './certhash.js'
import { KeypinError, assertBytes, describe } from './errors.js'
import { isValidIceUfrag } from './ice.js'
import { checkU32 } from './wire/integers.js'
import { checkIPv4, checkIPv6 } from './ip.js'

/** Bytes 4..7 of every RFC 5389 message. */
export const STUN_MAGIC_COOKIE = 0x2112a442

/** Type, length, cookie and a 12-byte transaction id. */
export const STUN_HEADER_SIZE = 20

/** Message type of a Binding request (method 0x001, class request). */
export const STUN_BINDING_REQUEST = 0x0001

/** Message type of a Binding success response. */
export const STUN_BINDING_SUCCESS = 0x0101

/** The attribute types this file reads or writes. */
export const STUN_ATTRIBUTES = {
  username: 0x0006,
  messageIntegrity: 0x0008,
  xorMappedAddress: 0x0020,
  priority: 0x0024,
  useCandidate: 0x0025,
  fingerprint: 0x8028,
  iceControlled: 0x8029,
  iceControlling: 0x802a,
} as const

export interface StunAttribute {
  type: number
  /** The value without padding; a view into the parsed bytes. */
  value: Uint8Array
}

export interface StunMessage {
  /** The 16-bit message type (its top two bits are always zero). */
  type: number
  /** A 12-byte copy, safe to keep for a response. */
  transactionId: Uint8Array
  /** Every attribute in order, duplicates and unknown types included. */
  attributes: StunAttribute[]
}

export interface BindingRequestOptions {
  /** USERNAME; any string that fits, so fuzzers can send invalid ones. */
  username: string
  /** Short-term password keying MESSAGE-INTEGRITY. */
  password: string
  /** 12 bytes; random when omitted. */
  transactionId?: Uint8Array
  /** PRIORITY; defaults to a peer-reflexive priority for component 1. */
  priority?: number
  /** ICE-CONTROLLING tie-breaker (u64); random when omitted. */
  iceControlling?: bigint
  /** Adds USE-CANDIDATE (the controlling agent nominates the pair). */
  useCandidate?: boolean
}

const TRANSACTION_ID_SIZE = 12
const MESSAGE_INTEGRITY_SIZE = 20
const FINGERPRINT_XOR = 0x5354554e
/** Peer-reflexive type preference 110, local preference 65535, component 1 (RFC 8445 5.1.2.1). */
const DEFAULT_PRIORITY = 110 * 2 ** 24 + 65535 * 2 ** 8 + (256 - 1)
const MAX_U64 = (1n << 64n) - 1n

// Fatal, so malformed UTF-8 is refused rather than turned into U+FFFD;
// ignoreBOM keeps a leading BOM as data instead of silently dropping it.
const UTF8_DECODER = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const UTF8_ENCODER = new TextEncoder()

/**
 * Parses a STUN message strictly: the header length must equal the bytes that
 * follow, be a multiple of 4, and every attribute (padded to 4 bytes) must fit.
 * Throws `protocol-error` naming the problem; it never returns a partial
 * message, so callers have a single failure path with a reason to log.
 */
export function parseStunMessage(bytes: Uint8Array): StunMessage {
  assertBytes(bytes, 'STUN message')
  const located = scan(bytes)
  if (typeof located === 'string') throw new KeypinError('protocol-error', `malformed STUN message: ${located}`)
  return {
    type: viewOf(bytes).getUint16(0),
    // A copy, even when `bytes` is a Node Buffer (whose slice() is a view).
    transactionId: Uint8Array.prototype.slice.call(bytes, 8, STUN_HEADER_SIZE),
    attributes: located.map(({ type, offset, length }) => ({ type, value: bytes.subarray(offset + 4, offset + 4 + length) })),
  }
}

export function isBindingRequest(message: StunMessage): boolean {
  return message.type === STUN_BINDING_REQUEST
}

/** The first USERNAME attribute as text, or null when absent or not valid UTF-8. */
export function getUsername(message: StunMessage): string | null {
  const attribute = message.attributes.find((a) => a.type === STUN_ATTRIBUTES.username)
  if (attribute === undefined) return null
  try {
    return UTF8_DECODER.decode(attribute.value)
  } catch {
    return null
  }
}

/**
 * Splits an ICE USERNAME `local:remote`, where `local` is the ufrag of the
 * agent receiving the request (this server) and `remote` the sender's. Null
 * unless there is exactly one ':' and both halves are valid ICE ufrags.
 */
export function splitIceUsername(username: string): { local: string; remote: string } | null {
  if (typeof username !== 'string') return null
  const colon = username.indexOf(':')
  if (colon === -1 || username.indexOf(':', colon + 1) !== -1) return null
  const local = username.slice(0, colon)
  const remote = username.slice(colon + 1)
  return isValidIceUfrag(local) && isValidIceUfrag(remote) ? { local, remote } : null
}

/**
 * The short-term credential key for MESSAGE-INTEGRITY: the password's UTF-8
 * bytes. RFC 5389 applies SASLprep first; for ICE passwords (ASCII ice-chars
 * only) that is the identity, so it is skipped.
 */
export function stunShortTermKey(password: string): Uint8Array {
  if (typeof password !== 'string') {
    throw new KeypinError('invalid-argument', `password must be a string, got ${describe(password)}`)
  }
  return UTF8_ENCODER.encode(password)
}

/**
 * RFC 5389 15.4: HMAC-SHA1 over the message up to the first
 * MESSAGE-INTEGRITY attribute, with the header length rewritten to end just
 * after that attribute. Attributes that follow it (FINGERPRINT, or anything
 * else) do not affect the result. False for a malformed message, a missing
 * or wrong-sized attribute, or a mismatch; the comparison is constant-time.
 */
export function verifyMessageIntegrity(bytes: Uint8Array, key: Uint8Array): boolean {
  assertBytes(bytes, 'STUN message')
  assertBytes(key, 'key')
  const located = scan(bytes)
  if (typeof located === 'string') return false
  const integrity = located.find((a) => a.type === STUN_ATTRIBUTES.messageIntegrity)
  if (integrity === undefined || integrity.length !== MESSAGE_INTEGRITY_SIZE) return false
  const expected = messageIntegrity(bytes, integrity.offset, key)
  return digestsEqual(expected, bytes.subarray(integrity.offset + 4, integrity.offset + 4 + MESSAGE_INTEGRITY_SIZE))
}

/**
 * RFC 5389 15.5: true when the last attribute is a 4-byte FINGERPRINT equal
 * to CRC-32 of everything before it XOR 0x5354554e. False otherwise,
 * including for a malformed message.
 */
export function verifyFingerprint(bytes: Uint8Array): boolean {
  assertBytes(bytes, 'STUN message')
  const located = scan(bytes)
  if (typeof located === 'string') return false
  const last = located.at(-1)
  if (last === undefined || last.type !== STUN_ATTRIBUTES.fingerprint || last.length !== 4) return false
  // FINGERPRINT is last, so the header length already ends after it as 15.5 requires.
  return fingerprint(bytes, last.offset) === viewOf(bytes).getUint32(last.offset + 4)
}

/**
 * A Binding request with USERNAME, PRIORITY, ICE-CONTROLLING, optionally
 * USE-CANDIDATE, then MESSAGE-INTEGRITY and FINGERPRINT. Padding is zeros.
 * Throws `invalid-argument` for bad options.
 */
export function buildBindingRequest(options: BindingRequestOptions): Uint8Array {
  if (typeof options !== 'object' || options === null) {
    throw new KeypinError('invalid-argument', `request options must be an object, got ${describe(options)}`)
  }
  const { username, password, priority = DEFAULT_PRIORITY, useCandidate = false } = options
  if (typeof username !== 'string') {
    throw new KeypinError('invalid-argument', `username must be a string, got ${describe(username)}`)
  }
  const key = stunShortTermKey(password)
  const transactionId = options.transactionId ?? crypto.getRandomValues(new Uint8Array(TRANSACTION_ID_SIZE))
  assertBytes(transactionId, 'transactionId')
  if (transactionId.length !== TRANSACTION_ID_SIZE) {
    throw new KeypinError('invalid-argument', `transactionId must be ${TRANSACTION_ID_SIZE} bytes, got ${transactionId.length}`)
  }
  checkU32(priority, 'priority')
  const tieBreaker = options.iceControlling ?? randomU64()
  if (typeof tieBreaker !== 'bigint' || tieBreaker < 0n || tieBreaker > MAX_U64) {
    throw new KeypinError('invalid-argument', `iceControlling must be a u64 bigint, got ${describe(tieBreaker)}`)
  }

  const user = UTF8_ENCODER.encode(username)
  const attributesLength =
    4 + padded(user.length) + 8 + 12 + (useCandidate ? 4 : 0) + 4 + MESSAGE_INTEGRITY_SIZE + 8
  if (attributesLength > 0xffff) {
    throw new KeypinError('invalid-argument', `username of ${user.length} bytes does not fit in a STUN message`)
  }
  const bytes = new Uint8Array(STUN_HEADER_SIZE + attributesLength)
  const view = viewOf(bytes)
  view.setUint16(0, STUN_BINDING_REQUEST)
  view.setUint32(4, STUN_MAGIC_COOKIE)
  bytes.set(transactionId, 8)

  let offset = putAttribute(bytes, STUN_HEADER_SIZE, STUN_ATTRIBUTES.username, user)
  const value = new Uint8Array(8)
  viewOf(value).setUint32(0, priority)
  offset = putAttribute(bytes, offset, STUN_ATTRIBUTES.priority, value.subarray(0, 4))
  viewOf(value).setBigUint64(0, tieBreaker)
  offset = putAttribute(bytes, offset, STUN_ATTRIBUTES.iceControlling, value)
  if (useCandidate) offset = putAttribute(bytes, offset, STUN_ATTRIBUTES.useCandidate, new Uint8Array(0))
  offset = putAttribute(bytes, offset, STUN_ATTRIBUTES.messageIntegrity, messageIntegrity(bytes, offset, key))
  view.setUint16(2, attributesLength)
  viewOf(value).setUint32(0, fingerprint(bytes, offset))
  putAttribute(bytes, offset, STUN_ATTRIBUTES.fingerprint, value.subarray(0, 4))
  return bytes
}

export interface ResignOptions {
  /** Short-term key for the new MESSAGE-INTEGRITY (see stunShortTermKey). */
  key: Uint8Array
  /** Replaces the value of every XOR-MAPPED-ADDRESS attribute with this address. */
  xorMappedAddress?: { host: string; port: number }
}

/**
 * A copy of a STUN message with fresh MESSAGE-INTEGRITY (keyed with
 * `options.key`) and FINGERPRINT; attributes that followed the old
 * MESSAGE-INTEGRITY are dropped, and XOR-MAPPED-ADDRESS can be rewritten on
 * the way. For a relay that answers on someone else's behalf (the reflexive
 * address it saw is not the peer's real one) and for tests that play a
 * man in the middle. Throws `invalid-argument` for a malformed message or
 * address.
 */
export function resignStunMessage(bytes: Uint8Array, options: ResignOptions): Uint8Array {
  assertBytes(bytes, 'STUN message')
  assertBytes(options.key, 'key')
  const located = scan(bytes)
  if (typeof located === 'string') throw new KeypinError('invalid-argument', `not a STUN message: ${located}`)
  const mapped = options.xorMappedAddress === undefined ? undefined : xorAddressValue(options.xorMappedAddress, bytes)
  const parts: Uint8Array[] = [Uint8Array.prototype.slice.call(bytes, 0, STUN_HEADER_SIZE)]
  let length = STUN_HEADER_SIZE
  for (const attribute of located) {
    if (attribute.type === STUN_ATTRIBUTES.messageIntegrity || attribute.type === STUN_ATTRIBUTES.fingerprint) break
    let encoded: Uint8Array
    if (mapped !== undefined && attribute.type === STUN_ATTRIBUTES.xorMappedAddress) {
      encoded = new Uint8Array(4 + mapped.length)
      putAttribute(encoded, 0, attribute.type, mapped)
    } else {
      // Verbatim, padding included: MESSAGE-INTEGRITY covers the padding bytes.
      encoded = bytes.subarray(attribute.offset, attribute.offset + 4 + padded(attribute.length))
    }
    parts.push(encoded)
    length += encoded.length
  }
  const out = new Uint8Array(length + 4 + MESSAGE_INTEGRITY_SIZE + 8)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  offset = putAttribute(out, offset, STUN_ATTRIBUTES.messageIntegrity, messageIntegrity(out, offset, options.key))
  viewOf(out).setUint16(2, out.length - STUN_HEADER_SIZE)
  const crc = new Uint8Array(4)
  viewOf(crc).setUint32(0, fingerprint(out, offset))
  putAttribute(out, offset, STUN_ATTRIBUTES.fingerprint, crc)
  return out
}

/** RFC 5389 15.2: family, port and address XORed with the cookie (and, for IPv6, the transaction id). */
function xorAddressValue(address: { host: string; port: number }, message: Uint8Array): Uint8Array {
  const { host, port } = address
  if (!Number.isInteger(port) || port < 0 || port > 0xffff) {
    throw new KeypinError('invalid-argument', `port must be an integer 0-65535, got ${describe(port)}`)
  }
  const v4 = checkIPv4(host)
  const v6 = v4.ok ? undefined : checkIPv6(host.replace(/^\[|\]$/g, ''))
  let raw: Uint8Array
  if (v4.ok) raw = Uint8Array.from(v4.value)
  else if (v6?.ok) {
    raw = new Uint8Array(16)
    v6.value.forEach((group, i) => viewOf(raw).setUint16(i * 2, group))
  } else throw new KeypinError('invalid-argument', `not an IP address: ${describe(host)}`)
  const value = new Uint8Array(4 + raw.length)
  const view = viewOf(value)
  view.setUint8(1, raw.length === 4 ? 0x01 : 0x02)
  view.setUint16(2, port ^ (STUN_MAGIC_COOKIE >>> 16))
  // The mask is the cookie followed by the transaction id.
  const mask = message.subarray(4, STUN_HEADER_SIZE)
  for (let i = 0; i < raw.length; i++) value[4 + i] = (raw[i] as number) ^ (mask[i] as number)
  return value
}

/** An attribute's position: `offset` is where its 4-byte header starts. */
interface Located {
  type: number
  offset: number
  length: number
}

/** Walks the header and attributes; returns them, or a sentence saying what is wrong. */
function scan(bytes: Uint8Array): Located[] | string {
  if (bytes.length < STUN_HEADER_SIZE) return `${bytes.length} bytes is shorter than the 20-byte header`
  if (((bytes[0] as number) & 0xc0) !== 0) return 'the first two bits are not zero'
  const view = viewOf(bytes)
  if (view.getUint32(4) !== STUN_MAGIC_COOKIE) return 'bytes 4..7 are not the magic cookie 0x2112a442'
  const declared = view.getUint16(2)
  const actual = bytes.length - STUN_HEADER_SIZE
  if (declared !== actual) return `the header declares ${declared} bytes of attributes but ${actual} follow`
  if (declared % 4 !== 0) return `the attribute length ${declared} is not a multiple of 4`
  const located: Located[] = []
  let offset = STUN_HEADER_SIZE
  while (offset < bytes.length) {
    // Offsets stay 4-aligned and the total is a multiple of 4, so a header always fits.
    const type = view.getUint16(offset)
    const length = view.getUint16(offset + 2)
    const end = offset + 4 + padded(length)
    if (end > bytes.length) {
      return `attribute 0x${type.toString(16).padStart(4, '0')} at byte ${offset} declares ${length} bytes but ${bytes.length - offset - 4} remain`
    }
    located.push({ type, offset, length })
    offset = end
  }
  return located
}

/** HMAC-SHA1 of `bytes[0, end)` with the header length set as if the message ended after a MESSAGE-INTEGRITY at `end`. */
function messageIntegrity(bytes: Uint8Array, end: number, key: Uint8Array): Uint8Array {
  // A copy, even when `bytes` is a Node Buffer (whose slice() is a view): the
  // length field is rewritten below and the caller's bytes must not change.
  const header = Uint8Array.prototype.slice.call(bytes, 0, STUN_HEADER_SIZE)
  viewOf(header).setUint16(2, end + 4 + MESSAGE_INTEGRITY_SIZE - STUN_HEADER_SIZE)
  // Hashing the patched header then the rest avoids copying the whole message.
  return hmac.create(sha1, key).update(header).update(bytes.subarray(STUN_HEADER_SIZE, end)).digest()
}

/** FINGERPRINT value for a message whose FINGERPRINT attribute starts at `end`. */
function fingerprint(bytes: Uint8Array, end: number): number {
  return (crc32(bytes.subarray(0, end)) ^ FINGERPRINT_XOR) >>> 0
}

/** Writes one attribute with zero padding and returns the offset after it. */
function putAttribute(bytes: Uint8Array, offset: number, type: number, value: Uint8Array): number {
  const view = viewOf(bytes)
  view.setUint16(offset, type)
  view.setUint16(offset + 2, value.length)
  bytes.set(value, offset + 4)
  return offset + 4 + padded(value.length)
}

function padded(length: number): number {
  return (length + 3) & ~3
}

function randomU64(): bigint {
  return viewOf(crypto.getRandomValues(new Uint8Array(8))).getBigUint64(0)
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** CRC-32 (ISO-HDLC: reflected polynomial 0xEDB88320, as zlib), one table lookup per byte. */
const CRC_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    table[n] = c
  }
  return table
})()

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff
  for (const byte of bytes) crc = (CRC_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}
