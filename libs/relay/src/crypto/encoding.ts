/**
 * Sealed messages as bytes: the compact canonical encoding (`encodeSealed`,
 * `decodeSealed`) and the two byte strings derived from it that seal.ts
 * authenticates, the AEAD associated data and the signed bytes.
 *
 * Layout, version 1 (integers big-endian):
 *
 *   off  size  field
 *   0    1     v = 1
 *   1    16    id            message id (hex in the API, raw here)
 *   17   20    from          sender's user id (its 20 digest bytes)
 *   37   20    to            recipient's user id
 *   57   2     n             context length, 1..256
 *   59   n     context       UTF-8: "dm" or "room:<roomId>"
 *   +0   8     sentAt        ms since epoch, at most 2^53 - 1
 *   +8   4     prekeyId      u32
 *   +12  32    ephemeralKey  X25519
 *   ---------- header ends: associated data = u8 23 || "keypin-relay-seal-ad-v1" || header
 *   +44  24    nonce         XChaCha20-Poly1305
 *   +68  4     c             ciphertext length, 16..65536 (includes the 16-byte tag)
 *   +72  c     ciphertext
 *   ---------- body ends: signed bytes = u8 24 || "keypin-relay-seal-sig-v1" || body
 *   +72+c 64   signature     Ed25519 by the sender's identity key
 *
 * Every field has one spelling (ids are lowercase hex, user ids lowercase
 * base32, text must round-trip as UTF-8), so decode then encode returns the
 * input bytes exactly. The decoder is strict: anything truncated, oversized,
 * out of range or followed by extra bytes is `bad-input`.
 *
 * This file checks shapes only; signatures and decryption are seal.ts.
 */
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { ByteReader, ByteWriter, MAX_U64_NUMBER, fromUtf8, utf8 } from './bytes.js'
import { RelayCryptoError, assertBytes, assertInteger, assertObject, describe } from './errors.js'
import { SIGNATURE_LENGTH } from './identity.js'
import { MAX_PREKEY_ID } from './prekey.js'
import { USER_ID_DIGEST_LENGTH, userIdFromDigest, userIdToDigest } from './user-id.js'

export const SEALED_VERSION = 1
export const MESSAGE_ID_BYTES = 16
export const EPHEMERAL_KEY_LENGTH = 32
export const SEAL_NONCE_LENGTH = 24
export const SEAL_TAG_LENGTH = 16
/** Largest ciphertext (tag included) a sealed message may carry: 64 KiB. */
export const MAX_CIPHERTEXT_BYTES = 65_536
/** Largest plaintext that fits: 64 KiB less the tag. */
export const MAX_PLAINTEXT_BYTES = MAX_CIPHERTEXT_BYTES - SEAL_TAG_LENGTH
/** Largest context, in UTF-8 bytes. */
export const MAX_CONTEXT_BYTES = 256
/** Largest encoded sealed message. */
export const MAX_SEALED_BYTES =
  1 + MESSAGE_ID_BYTES + 2 * USER_ID_DIGEST_LENGTH + 2 + MAX_CONTEXT_BYTES + 8 + 4 +
  EPHEMERAL_KEY_LENGTH + SEAL_NONCE_LENGTH + 4 + MAX_CIPHERTEXT_BYTES + SIGNATURE_LENGTH

const AD_DOMAIN = 'keypin-relay-seal-ad-v1'
const SIGNATURE_DOMAIN = 'keypin-relay-seal-sig-v1'
const MESSAGE_ID = /^[0-9a-f]{32}$/
const ROOM_PREFIX = 'room:'
// C0 controls, DEL and C1 controls: never part of a context.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/

export interface SealedMessage {
  readonly v: 1
  /** 16 random bytes as 32 lowercase hex characters; unique per sender. */
  readonly id: string
  /** Sender's user id. */
  readonly from: string
  /** Recipient's user id. */
  readonly to: string
  /** "dm", or "room:<roomId>" for a room message sealed to one member. */
  readonly context: string
  /** Milliseconds since the epoch, as the sender's clock saw it. */
  readonly sentAt: number
  readonly prekeyId: number
  readonly ephemeralKey: Uint8Array
  readonly nonce: Uint8Array
  readonly ciphertext: Uint8Array
  readonly signature: Uint8Array
}

/** True for a message id: 32 lowercase hex characters. */
export function isMessageId(value: unknown): value is string {
  return typeof value === 'string' && MESSAGE_ID.test(value)
}

/**
 * True for a context: "dm", or "room:" followed by a room id of at least one
 * character with no control characters, the whole at most 256 UTF-8 bytes.
 */
export function isContext(value: unknown): value is string {
  try {
    contextBytes(value, 'context')
    return true
  } catch {
    return false
  }
}

/** Canonical bytes of a sealed message, signature included. Throws `bad-input` naming a malformed field. */
export function encodeSealed(message: SealedMessage): Uint8Array {
  const { body } = sealedLayout(message, 'message')
  return new ByteWriter().raw(body).raw(message.signature).finish()
}

/** Parses bytes made by `encodeSealed`. Throws `bad-input` on anything else. */
export function decodeSealed(bytes: Uint8Array): SealedMessage {
  assertBytes(bytes, 'sealed message')
  if (bytes.length > MAX_SEALED_BYTES) {
    throw new RelayCryptoError(
      'bad-input',
      `sealed message is ${bytes.length} bytes; at most ${MAX_SEALED_BYTES} are allowed`,
    )
  }
  const reader = new ByteReader(bytes, 'sealed message')
  const v = reader.u8('version')
  if (v !== SEALED_VERSION) {
    throw new RelayCryptoError(
      'bad-input',
      `sealed message has version ${v}; only version ${SEALED_VERSION} is understood`,
    )
  }
  const id = bytesToHex(reader.raw(MESSAGE_ID_BYTES, 'id'))
  const from = userIdFromDigest(reader.raw(USER_ID_DIGEST_LENGTH, 'from'))
  const to = userIdFromDigest(reader.raw(USER_ID_DIGEST_LENGTH, 'to'))
  const context = fromUtf8(reader.bytes16('context', 1, MAX_CONTEXT_BYTES), 'context')
  contextBytes(context, 'context')
  const sentAt = reader.u64('sentAt')
  const prekeyId = reader.u32('prekeyId')
  const ephemeralKey = reader.raw(EPHEMERAL_KEY_LENGTH, 'ephemeralKey')
  const nonce = reader.raw(SEAL_NONCE_LENGTH, 'nonce')
  const ciphertext = reader.bytes32('ciphertext', SEAL_TAG_LENGTH, MAX_CIPHERTEXT_BYTES)
  const signature = reader.raw(SIGNATURE_LENGTH, 'signature')
  reader.end()
  return Object.freeze({
    v: SEALED_VERSION,
    id,
    from,
    to,
    context,
    sentAt,
    prekeyId,
    ephemeralKey,
    nonce,
    ciphertext,
    signature,
  })
}

/** The AEAD associated data: the labelled header (every field before the nonce). */
export function sealedAssociatedData(header: Uint8Array): Uint8Array {
  return new ByteWriter().label(AD_DOMAIN).raw(header).finish()
}

/** The bytes the sender signs: the labelled body (every field but the signature). */
export function sealedSignedBytes(body: Uint8Array): Uint8Array {
  return new ByteWriter().label(SIGNATURE_DOMAIN).raw(body).finish()
}

/** The fields before the nonce: what the AEAD binds as associated data. */
export type SealedHeaderFields = Pick<
  SealedMessage,
  'v' | 'id' | 'from' | 'to' | 'context' | 'sentAt' | 'prekeyId' | 'ephemeralKey'
>

/** Checks the header fields of `message` and returns the header bytes. */
export function sealedHeader(message: unknown, what: string): Uint8Array {
  assertObject(message, what)
  if (message['v'] !== SEALED_VERSION) {
    throw new RelayCryptoError('bad-input', `${what}.v must be ${SEALED_VERSION}, got ${describe(message['v'])}`)
  }
  const writer = new ByteWriter()
    .u8(SEALED_VERSION)
    .raw(messageIdBytes(message['id'], `${what}.id`))
    .raw(userIdToDigest(message['from'], `${what}.from`))
    .raw(userIdToDigest(message['to'], `${what}.to`))
    .bytes16(contextBytes(message['context'], `${what}.context`))
  assertInteger(message['sentAt'], `${what}.sentAt`, MAX_U64_NUMBER)
  assertInteger(message['prekeyId'], `${what}.prekeyId`, MAX_PREKEY_ID)
  assertBytes(message['ephemeralKey'], `${what}.ephemeralKey`, EPHEMERAL_KEY_LENGTH)
  return writer.u64(message['sentAt']).u32(message['prekeyId']).raw(message['ephemeralKey']).finish()
}

/** Checks the nonce and ciphertext and returns the body bytes (header, nonce, ciphertext). */
export function sealedBody(header: Uint8Array, nonce: unknown, ciphertext: unknown, what: string): Uint8Array {
  assertBytes(nonce, `${what}.nonce`, SEAL_NONCE_LENGTH)
  assertBytes(ciphertext, `${what}.ciphertext`)
  if (ciphertext.length < SEAL_TAG_LENGTH || ciphertext.length > MAX_CIPHERTEXT_BYTES) {
    throw new RelayCryptoError(
      'bad-input',
      `${what}.ciphertext is ${ciphertext.length} bytes; it must be ${SEAL_TAG_LENGTH} to ${MAX_CIPHERTEXT_BYTES}`,
    )
  }
  return new ByteWriter().raw(header).raw(nonce).bytes32(ciphertext).finish()
}

/**
 * Checks every field of `message` (the signature's size included) and returns
 * its header and body bytes; the header is a prefix of the body.
 */
export function sealedLayout(message: unknown, what: string): { header: Uint8Array; body: Uint8Array } {
  const header = sealedHeader(message, what)
  const fields = message as Record<string, unknown>
  const body = sealedBody(header, fields['nonce'], fields['ciphertext'], what)
  assertBytes(fields['signature'], `${what}.signature`, SIGNATURE_LENGTH)
  return { header, body }
}

/** Throws `bad-input` unless `id` is a message id; returns its 16 bytes. */
export function messageIdBytes(id: unknown, what: string): Uint8Array {
  if (!isMessageId(id)) {
    throw new RelayCryptoError('bad-input', `${what} must be 32 lowercase hex characters, got ${describe(id)}`)
  }
  return hexToBytes(id)
}

/** Throws `bad-input` unless `context` is valid; returns its UTF-8 bytes. */
export function contextBytes(context: unknown, what: string): Uint8Array {
  if (typeof context !== 'string') {
    throw new RelayCryptoError('bad-input', `${what} must be a string, got ${describe(context)}`)
  }
  const bytes = utf8(context, what)
  if (bytes.length > MAX_CONTEXT_BYTES) {
    throw new RelayCryptoError(
      'bad-input',
      `${what} is ${bytes.length} UTF-8 bytes; at most ${MAX_CONTEXT_BYTES} are allowed`,
    )
  }
  if (context === 'dm') return bytes
  if (!context.startsWith(ROOM_PREFIX) || context.length === ROOM_PREFIX.length) {
    throw new RelayCryptoError('bad-input', `${what} must be "dm" or "room:<roomId>", got ${describe(context)}`)
  }
  if (CONTROL.test(context)) {
    throw new RelayCryptoError('bad-input', `${what} contains a control character`)
  }
  return bytes
}
