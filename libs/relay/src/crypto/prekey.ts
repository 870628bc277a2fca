/**
 * Signed prekeys: X25519 keys a user publishes (through the relay) so others
 * can seal messages to them while they are offline, each signed by the
 * user's identity key so the relay cannot substitute its own.
 *
 *   signed bytes = u8 22 || "keypin-relay-prekey-v1"
 *               || u32 id || u64 createdAt (ms since epoch) || publicKey (32)
 *
 * A prekey is medium-term: the owner keeps its secret until every message
 * sealed to it has been opened, then deletes it. Rotation policy (how often,
 * how long old secrets are kept) belongs to the client; createdAt is signed
 * so peers and the relay can refuse stale prekeys.
 *
 * This file does not store prekeys or choose ids.
 */
import { x25519 } from '@noble/curves/ed25519.js'
import { ByteWriter, MAX_U64_NUMBER } from './bytes.js'
import { assertBytes, assertInteger, assertObject } from './errors.js'
import { SIGNATURE_LENGTH, assertIdentity, signBytes, verifyBytes, type IdentityKeyPair } from './identity.js'

export const PREKEY_PUBLIC_KEY_LENGTH = 32
export const PREKEY_SECRET_KEY_LENGTH = 32
/** Prekey ids are u32. */
export const MAX_PREKEY_ID = 0xffff_ffff

const DOMAIN = 'keypin-relay-prekey-v1'

export interface SignedPrekey {
  readonly id: number
  readonly publicKey: Uint8Array
  readonly createdAt: number
  readonly signature: Uint8Array
}

export interface PrekeyPair {
  readonly prekey: SignedPrekey
  readonly secretKey: Uint8Array
}

/** A fresh X25519 prekey signed by `identity`. `createdAt` defaults to now. */
export function generatePrekey(identity: IdentityKeyPair, id: number, createdAt: number = Date.now()): PrekeyPair {
  assertIdentity(identity, 'identity')
  return prekeyFromSecret(identity, id, x25519.utils.randomSecretKey(), createdAt)
}

/** Signs the prekey of a given X25519 secret key (for restoring or re-signing a stored prekey). */
export function prekeyFromSecret(
  identity: IdentityKeyPair,
  id: number,
  secretKey: Uint8Array,
  createdAt: number,
): PrekeyPair {
  assertIdentity(identity, 'identity')
  assertInteger(id, 'prekey id', MAX_PREKEY_ID)
  assertBytes(secretKey, 'prekey secretKey', PREKEY_SECRET_KEY_LENGTH)
  assertInteger(createdAt, 'createdAt', MAX_U64_NUMBER)
  const secret = secretKey.slice()
  const publicKey = x25519.getPublicKey(secret)
  const signature = signBytes(identity, prekeySignedBytes(id, publicKey, createdAt))
  return Object.freeze({ prekey: Object.freeze({ id, publicKey, createdAt, signature }), secretKey: secret })
}

/** True when `prekey` is well-formed and signed by `identityPublicKey`. Never throws. */
export function verifyPrekey(identityPublicKey: Uint8Array, prekey: SignedPrekey): boolean {
  try {
    assertSignedPrekeyShape(prekey, 'prekey')
    const signed = prekeySignedBytes(prekey.id, prekey.publicKey, prekey.createdAt)
    return verifyBytes(identityPublicKey, signed, prekey.signature)
  } catch {
    return false
  }
}

/** Throws `bad-input` unless every field of `prekey` has the right type and size. */
export function assertSignedPrekeyShape(prekey: unknown, what: string): asserts prekey is SignedPrekey {
  assertObject(prekey, what)
  assertInteger(prekey['id'], `${what}.id`, MAX_PREKEY_ID)
  assertBytes(prekey['publicKey'], `${what}.publicKey`, PREKEY_PUBLIC_KEY_LENGTH)
  assertInteger(prekey['createdAt'], `${what}.createdAt`, MAX_U64_NUMBER)
  assertBytes(prekey['signature'], `${what}.signature`, SIGNATURE_LENGTH)
}

function prekeySignedBytes(id: number, publicKey: Uint8Array, createdAt: number): Uint8Array {
  return new ByteWriter().label(DOMAIN).u32(id).u64(createdAt).raw(publicKey).finish()
}
