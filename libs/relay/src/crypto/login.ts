/**
 * Login: the relay proves a client holds an identity key by having it sign
 * a challenge tied to this relay and this connection.
 *
 *   loginMessage = u8 21 || "keypin-relay-login-v1"
 *               || u16 len || certhash (UTF-8)   the relay's certificate pin
 *               || u16 32  || nonce               the relay's fresh challenge
 *               || u16 32  || publicKey           the identity logging in
 *
 * The certhash binds the signature to one relay: a malicious relay cannot
 * replay a login it received against another relay. The 32-byte nonce binds
 * it to one connection; the relay must draw it at random for each connection
 * and accept it once. The certhash must be canonical (as @keypin/core
 * produces it), so one relay has one spelling.
 *
 * This file does not draw or track nonces; the relay server does.
 */
import { digestFromCerthash } from '@keypin/core'
import { ByteWriter, utf8 } from './bytes.js'
import { RelayCryptoError, assertBytes, assertObject, describe } from './errors.js'
import { assertIdentity, assertIdentityPublicKey, signBytes, verifyBytes, type IdentityKeyPair } from './identity.js'

export const LOGIN_NONCE_LENGTH = 32

const DOMAIN = 'keypin-relay-login-v1'

export interface LoginChallenge {
  readonly certhash: string
  readonly nonce: Uint8Array
}

/** The exact bytes a login signature covers. Throws `bad-input` naming a malformed field. */
export function loginMessage(input: { certhash: string; nonce: Uint8Array; publicKey: Uint8Array }): Uint8Array {
  assertObject(input, 'login input')
  const certhash = checkCerthash(input.certhash)
  assertBytes(input.nonce, 'nonce', LOGIN_NONCE_LENGTH)
  assertIdentityPublicKey(input.publicKey, 'publicKey')
  return new ByteWriter()
    .label(DOMAIN)
    .bytes16(utf8(certhash, 'certhash'))
    .bytes16(input.nonce)
    .bytes16(input.publicKey)
    .finish()
}

/** The 64-byte signature answering a login challenge. */
export function signLogin(identity: IdentityKeyPair, input: LoginChallenge): Uint8Array {
  assertIdentity(identity, 'identity')
  assertObject(input, 'login challenge')
  const message = loginMessage({ certhash: input.certhash, nonce: input.nonce, publicKey: identity.publicKey })
  return signBytes(identity, message)
}

/**
 * True when `signature` answers the challenge for `publicKey`. Never throws:
 * any malformed argument (key, signature, certhash or nonce) gives false.
 */
export function verifyLogin(publicKey: Uint8Array, input: LoginChallenge, signature: Uint8Array): boolean {
  try {
    const message = loginMessage({ certhash: input.certhash, nonce: input.nonce, publicKey })
    return verifyBytes(publicKey, message, signature)
  } catch {
    return false
  }
}

function checkCerthash(certhash: unknown): string {
  if (typeof certhash !== 'string') {
    throw new RelayCryptoError('bad-input', `certhash must be a string, got ${describe(certhash)}`)
  }
  try {
    digestFromCerthash(certhash)
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause)
    throw new RelayCryptoError('bad-input', `certhash is not a valid certhash: ${why}`, { cause })
  }
  return certhash
}
