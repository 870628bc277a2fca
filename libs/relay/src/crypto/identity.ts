/**
 * Ed25519 identity keys: a user's long-term signing key pair.
 *
 * The 32-byte secret key is the RFC 8032 seed; the public key is what the
 * user id is derived from (user-id.ts). Signatures here are always over
 * domain-labelled bytes built by the caller (login.ts, prekey.ts, seal.ts)
 * and are verified strictly: non-canonical encodings and small-order public
 * keys are refused, so one message has one valid signature per key.
 *
 * This file does not store keys or derive ids; it generates, checks, signs
 * and verifies.
 */
import { ed25519 } from '@noble/curves/ed25519.js'
import { equalBytes } from '@noble/ciphers/utils.js'
import { RelayCryptoError, assertBytes, assertObject } from './errors.js'

export const IDENTITY_PUBLIC_KEY_LENGTH = 32
export const IDENTITY_SECRET_KEY_LENGTH = 32
export const SIGNATURE_LENGTH = 64

export interface IdentityKeyPair {
  readonly publicKey: Uint8Array
  readonly secretKey: Uint8Array
}

/** A fresh identity from the platform's secure random source. */
export function generateIdentity(): IdentityKeyPair {
  const { secretKey, publicKey } = ed25519.keygen()
  return Object.freeze({ publicKey, secretKey })
}

/** Rebuilds the key pair from its 32-byte secret key (the key is copied). */
export function identityFromSecret(secretKey: Uint8Array): IdentityKeyPair {
  assertBytes(secretKey, 'secretKey', IDENTITY_SECRET_KEY_LENGTH)
  const copy = secretKey.slice()
  return Object.freeze({ publicKey: ed25519.getPublicKey(copy), secretKey: copy })
}

/**
 * Throws `bad-input` unless `publicKey` is 32 bytes that decode to an
 * Ed25519 point of large order. Costs a point decompression, not a scalar
 * multiplication.
 */
export function assertIdentityPublicKey(publicKey: unknown, what: string): asserts publicKey is Uint8Array {
  assertBytes(publicKey, what, IDENTITY_PUBLIC_KEY_LENGTH)
  if (!isIdentityPublicKey(publicKey)) {
    throw new RelayCryptoError('bad-input', `${what} is not a valid Ed25519 public key`)
  }
}

/** True for 32 bytes encoding an Ed25519 point that is not of small order. */
export function isIdentityPublicKey(publicKey: unknown): publicKey is Uint8Array {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== IDENTITY_PUBLIC_KEY_LENGTH) return false
  try {
    return !ed25519.Point.fromBytes(publicKey).isSmallOrder()
  } catch {
    return false
  }
}

/**
 * Throws `bad-input` unless `identity` is a key pair whose public key belongs
 * to its secret key (one scalar multiplication), so nothing is ever signed
 * under an id the signature will not verify for.
 */
export function assertIdentity(identity: unknown, what: string): asserts identity is IdentityKeyPair {
  assertObject(identity, what)
  assertBytes(identity['secretKey'], `${what}.secretKey`, IDENTITY_SECRET_KEY_LENGTH)
  assertIdentityPublicKey(identity['publicKey'], `${what}.publicKey`)
  if (!equalBytes(ed25519.getPublicKey(identity['secretKey']), identity['publicKey'])) {
    throw new RelayCryptoError('bad-input', `${what}.publicKey does not belong to ${what}.secretKey`)
  }
}

/** Signs already-labelled bytes. The caller has checked the key pair. */
export function signBytes(identity: IdentityKeyPair, message: Uint8Array): Uint8Array {
  return ed25519.sign(message, identity.secretKey)
}

/** Strict RFC 8032 verification; false (never a throw) for any malformed key or signature. */
export function verifyBytes(publicKey: unknown, message: Uint8Array, signature: unknown): boolean {
  if (!isIdentityPublicKey(publicKey)) return false
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_LENGTH) return false
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false })
  } catch {
    return false
  }
}
