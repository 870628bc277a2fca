/**
 * Sealing and opening messages: one-shot public-key encryption to a signed
 * prekey, signed by the sender's identity key.
 *
 * Seal (sender):
 *   eph     = fresh X25519 key pair
 *   shared  = X25519(eph.secret, prekey.public)
 *   key     = HKDF-SHA256(ikm = shared, salt = eph.public || prekey.public,
 *                         info = "keypin-relay-seal-v1", 32 bytes)
 *   ct      = XChaCha20-Poly1305(key, random 24-byte nonce, plaintext,
 *                                AD = labelled header: v, id, from, to, context,
 *                                     sentAt, prekeyId, ephemeralKey)
 *   sig     = Ed25519(sender identity, labelled body: every field but sig)
 * (byte layouts in encoding.ts)
 *
 * Open (recipient), failing with the first that applies: a malformed message
 * (`bad-input`), another recipient (`wrong-recipient`), a sender id that is not
 * the sender key's (`bad-sender`), a bad signature (`bad-signature`), a context
 * other than the expected one (`tampered`), a prekey the recipient no longer
 * holds (`unknown-prekey`), and a ciphertext that does not authenticate
 * (`tampered`).
 *
 * This file does not detect replays (ReplayGuard, replay.ts), look up keys,
 * or ratchet: each message stands alone.
 */
import { x25519 } from '@noble/curves/ed25519.js'
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, clean, concatBytes, randomBytes } from '@noble/hashes/utils.js'
import {
  EPHEMERAL_KEY_LENGTH,
  MAX_PLAINTEXT_BYTES,
  MESSAGE_ID_BYTES,
  SEALED_VERSION,
  SEAL_NONCE_LENGTH,
  contextBytes,
  messageIdBytes,
  sealedAssociatedData,
  sealedBody,
  sealedHeader,
  sealedLayout,
  sealedSignedBytes,
  type SealedHeaderFields,
  type SealedMessage,
} from './encoding.js'
import { MAX_U64_NUMBER } from './bytes.js'
import { RelayCryptoError, assertBytes, assertInteger, assertObject, describe } from './errors.js'
import { assertIdentity, assertIdentityPublicKey, signBytes, verifyBytes, type IdentityKeyPair } from './identity.js'
import { PREKEY_SECRET_KEY_LENGTH, assertSignedPrekeyShape, verifyPrekey, type SignedPrekey } from './prekey.js'
import { isUserId, userIdOf } from './user-id.js'

const KEY_INFO = new TextEncoder().encode('keypin-relay-seal-v1')
const KEY_LENGTH = 32

export interface SealInput {
  readonly sender: IdentityKeyPair
  readonly to: string
  readonly recipientIdentityKey: Uint8Array
  readonly recipientPrekey: SignedPrekey
  readonly context: string
  readonly plaintext: Uint8Array
  /** Message id (32 lowercase hex characters); random when omitted. */
  readonly id?: string
  /** Milliseconds since the epoch; now when omitted. */
  readonly sentAt?: number
}

export interface OpenInput {
  /** Only the public key is used (to check the message is addressed to it); the prekey secret decrypts. */
  readonly recipient: IdentityKeyPair
  readonly senderIdentityKey: Uint8Array
  /** The secret key of the recipient's prekey with this id, or undefined once it has been deleted. */
  readonly prekeySecret: (id: number) => Uint8Array | undefined
  readonly message: SealedMessage
  /** When given, a message sealed for another context is rejected as `tampered`. */
  readonly expectedContext?: string
}

/** Source of random bytes; `randomBytes` from noble in production. */
export type RandomSource = (length: number) => Uint8Array

/** Encrypts and signs `plaintext` for the holder of `recipientPrekey`. */
export function sealMessage(input: SealInput): SealedMessage {
  return sealMessageWith(input, randomBytes)
}

/**
 * `sealMessage` drawing its randomness from `random`: the message id (16
 * bytes, only when `input.id` is omitted), then the ephemeral secret key (32),
 * then the nonce (24). For known-answer tests; not exported from the package.
 */
export function sealMessageWith(input: SealInput, random: RandomSource): SealedMessage {
  assertObject(input, 'seal input')
  const { sender, to, recipientIdentityKey, recipientPrekey, context, plaintext } = input
  assertIdentity(sender, 'sender')
  assertIdentityPublicKey(recipientIdentityKey, 'recipientIdentityKey')
  if (!isUserId(to)) throw new RelayCryptoError('bad-input', `to must be a user id, got ${describe(to)}`)
  if (to !== userIdOf(recipientIdentityKey)) {
    throw new RelayCryptoError('bad-input', `to (${to}) is not the user id of recipientIdentityKey`)
  }
  assertSignedPrekeyShape(recipientPrekey, 'recipientPrekey')
  if (!verifyPrekey(recipientIdentityKey, recipientPrekey)) {
    throw new RelayCryptoError('bad-input', 'recipientPrekey is not signed by recipientIdentityKey')
  }
  contextBytes(context, 'context')
  assertBytes(plaintext, 'plaintext')
  if (plaintext.length > MAX_PLAINTEXT_BYTES) {
    throw new RelayCryptoError(
      'bad-input',
      `plaintext is ${plaintext.length} bytes; at most ${MAX_PLAINTEXT_BYTES} fit in a message`,
    )
  }
  if (input.id !== undefined) messageIdBytes(input.id, 'id')
  if (input.sentAt !== undefined) assertInteger(input.sentAt, 'sentAt', MAX_U64_NUMBER)
  if (typeof random !== 'function') {
    throw new RelayCryptoError('bad-input', `random must be a function, got ${describe(random)}`)
  }

  const id = input.id ?? bytesToHex(draw(random, MESSAGE_ID_BYTES))
  const sentAt = input.sentAt ?? Date.now()
  const ephemeralSecret = draw(random, EPHEMERAL_KEY_LENGTH)
  const ephemeralKey = x25519.getPublicKey(ephemeralSecret)
  let key: Uint8Array
  try {
    key = messageKey(ephemeralSecret, recipientPrekey.publicKey, concatBytes(ephemeralKey, recipientPrekey.publicKey))
  } catch (cause) {
    throw new RelayCryptoError('bad-input', 'recipientPrekey.publicKey is a low-order X25519 point', { cause })
  } finally {
    clean(ephemeralSecret)
  }
  const nonce = draw(random, SEAL_NONCE_LENGTH)
  const from = userIdOf(sender.publicKey)
  const prekeyId = recipientPrekey.id
  const fields: SealedHeaderFields = { v: SEALED_VERSION, id, from, to, context, sentAt, prekeyId, ephemeralKey }
  const header = sealedHeader(fields, 'message')
  const ciphertext = xchacha20poly1305(key, nonce, sealedAssociatedData(header)).encrypt(plaintext)
  clean(key)
  const signature = signBytes(sender, sealedSignedBytes(sealedBody(header, nonce, ciphertext, 'message')))
  return Object.freeze({ ...fields, nonce, ciphertext, signature })
}

/** Verifies and decrypts a sealed message; returns the plaintext or throws (see the header). */
export function openMessage(input: OpenInput): Uint8Array {
  assertObject(input, 'open input')
  const { recipient, senderIdentityKey, prekeySecret, message, expectedContext } = input
  assertObject(recipient, 'recipient')
  assertIdentityPublicKey(recipient.publicKey, 'recipient.publicKey')
  assertIdentityPublicKey(senderIdentityKey, 'senderIdentityKey')
  if (typeof prekeySecret !== 'function') {
    throw new RelayCryptoError('bad-input', `prekeySecret must be a function, got ${describe(prekeySecret)}`)
  }
  if (expectedContext !== undefined) contextBytes(expectedContext, 'expectedContext')
  const { header, body } = sealedLayout(message, 'message')

  if (message.to !== userIdOf(recipient.publicKey)) {
    throw new RelayCryptoError('wrong-recipient', `message is addressed to ${message.to}, not to this recipient`)
  }
  if (message.from !== userIdOf(senderIdentityKey)) {
    throw new RelayCryptoError(
      'bad-sender',
      `message claims sender ${message.from}, which is not the user id of senderIdentityKey`,
    )
  }
  if (!verifyBytes(senderIdentityKey, sealedSignedBytes(body), message.signature)) {
    throw new RelayCryptoError('bad-signature', `message ${message.id} does not carry a valid signature by its sender`)
  }
  if (expectedContext !== undefined && message.context !== expectedContext) {
    const [got, wanted] = [JSON.stringify(message.context), JSON.stringify(expectedContext)]
    throw new RelayCryptoError('tampered', `message was sealed for context ${got}, expected ${wanted}`)
  }
  const secret = prekeySecret(message.prekeyId)
  if (secret === undefined) {
    throw new RelayCryptoError('unknown-prekey', `no secret key for prekey ${message.prekeyId}`)
  }
  assertBytes(secret, `prekeySecret(${message.prekeyId})`, PREKEY_SECRET_KEY_LENGTH)

  let key: Uint8Array
  try {
    key = messageKey(secret, message.ephemeralKey, concatBytes(message.ephemeralKey, x25519.getPublicKey(secret)))
  } catch (cause) {
    throw new RelayCryptoError('tampered', 'message ephemeralKey is a low-order X25519 point', { cause })
  }
  try {
    return xchacha20poly1305(key, message.nonce, sealedAssociatedData(header)).decrypt(message.ciphertext)
  } catch (cause) {
    throw new RelayCryptoError(
      'tampered',
      `message ${message.id} does not decrypt: its ciphertext or header was altered, or it was sealed to another prekey`,
      { cause },
    )
  } finally {
    clean(key)
  }
}

/**
 * Signs `message` as it stands with `sender`'s key, keeping its ciphertext.
 * Lets tests play a sender who re-signs altered fields; not exported from the
 * package.
 */
export function resignSealed(sender: IdentityKeyPair, message: Omit<SealedMessage, 'signature'>): SealedMessage {
  assertIdentity(sender, 'sender')
  const header = sealedHeader(message, 'message')
  const body = sealedBody(header, message.nonce, message.ciphertext, 'message')
  return Object.freeze({ ...message, signature: signBytes(sender, sealedSignedBytes(body)) })
}

/**
 * The AEAD key: HKDF-SHA256 over X25519(secret, peer) with `salt` =
 * ephemeral public key || prekey public key. Throws (from noble) when `peer`
 * is a low-order point, which makes the shared secret all zeros.
 */
function messageKey(secret: Uint8Array, peer: Uint8Array, salt: Uint8Array): Uint8Array {
  const shared = x25519.getSharedSecret(secret, peer)
  try {
    return hkdf(sha256, shared, salt, KEY_INFO, KEY_LENGTH)
  } finally {
    clean(shared)
  }
}

function draw(random: RandomSource, length: number): Uint8Array {
  const bytes = random(length)
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new RelayCryptoError('bad-input', `random source returned ${describe(bytes)} when asked for ${length} bytes`)
  }
  return bytes.slice()
}
