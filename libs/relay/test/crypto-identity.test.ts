/** Identity keys, user ids and safety codes: properties and boundary checks. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  generateIdentity,
  identityFromSecret,
  isIdentityPublicKey,
  isUserId,
  safetyCode,
  userIdOf,
} from '../dist/crypto/index.js'
import { assertRelayError, fromHex } from './crypto-support.js'

// Small-order point (y = 0, order 4) and a y coordinate >= p: 32 bytes that are not usable keys.
const SMALL_ORDER = new Uint8Array(32)
const NOT_A_POINT = new Uint8Array(32).fill(0xff)
const IDENTITY_POINT = fromHex('0100000000000000000000000000000000000000000000000000000000000000')

describe('identity keys', () => {
  it('generates 32-byte keys that rebuild from the secret', () => {
    const identity = generateIdentity()
    assert.equal(identity.publicKey.length, 32)
    assert.equal(identity.secretKey.length, 32)
    assert.deepEqual(identityFromSecret(identity.secretKey).publicKey, identity.publicKey)
    assert.notDeepEqual(generateIdentity().publicKey, identity.publicKey)
  })

  it('copies the secret it is given', () => {
    const secret = generateIdentity().secretKey.slice()
    const identity = identityFromSecret(secret)
    secret.fill(0)
    assert.notDeepEqual(identity.secretKey, secret)
  })

  it('refuses secrets of the wrong type or length', () => {
    assertRelayError(() => identityFromSecret(new Uint8Array(31)), 'bad-input', 'secretKey', '32 bytes', 'got 31')
    assertRelayError(() => identityFromSecret('00'.repeat(32) as unknown as Uint8Array), 'bad-input', 'secretKey', 'Uint8Array', 'string')
    assertRelayError(() => identityFromSecret(new ArrayBuffer(32) as unknown as Uint8Array), 'bad-input', 'ArrayBuffer')
  })

  it('tells usable public keys from unusable ones', () => {
    assert.equal(isIdentityPublicKey(generateIdentity().publicKey), true)
    for (const bad of [SMALL_ORDER, NOT_A_POINT, IDENTITY_POINT, new Uint8Array(31), null, 'key']) {
      assert.equal(isIdentityPublicKey(bad), false)
    }
  })
})

describe('userIdOf / isUserId', () => {
  it('is "k" and 32 lowercase base32 characters, stable per key', () => {
    const { publicKey } = generateIdentity()
    const id = userIdOf(publicKey)
    assert.match(id, /^k[a-z2-7]{32}$/)
    assert.equal(userIdOf(publicKey.slice()), id)
    assert.equal(isUserId(id), true)
    assert.notEqual(userIdOf(generateIdentity().publicKey), id)
  })

  it('rejects keys that are not Ed25519 public keys', () => {
    assertRelayError(() => userIdOf(new Uint8Array(33)), 'bad-input', 'publicKey', '32 bytes')
    assertRelayError(() => userIdOf(SMALL_ORDER), 'bad-input', 'not a valid Ed25519 public key')
    assertRelayError(() => userIdOf(NOT_A_POINT), 'bad-input', 'not a valid Ed25519 public key')
    assertRelayError(() => userIdOf([1, 2, 3] as unknown as Uint8Array), 'bad-input', 'an array')
  })

  it('isUserId accepts only the exact form', () => {
    const id = userIdOf(generateIdentity().publicKey)
    for (const bad of [id.toUpperCase(), `K${id.slice(1)}`, id.slice(0, -1), `${id}a`, `${id.slice(0, -1)}1`, `${id.slice(0, -1)}=`, '', 42, null, undefined, { id }]) {
      assert.equal(isUserId(bad), false, String(bad))
    }
  })
})

describe('safetyCode', () => {
  const a = generateIdentity().publicKey
  const b = generateIdentity().publicKey

  it('is 6 groups of 5 digits for one key', () => {
    assert.match(safetyCode(a), /^\d{5}( \d{5}){5}$/)
    assert.notEqual(safetyCode(a), safetyCode(b))
  })

  it('for two keys is the same on both sides and holds each key\'s own code', () => {
    const code = safetyCode(a, b)
    assert.match(code, /^\d{5}( \d{5}){11}$/)
    assert.equal(safetyCode(b, a), code)
    assert.ok(code.includes(safetyCode(a)))
    assert.ok(code.includes(safetyCode(b)))
    assert.notEqual(safetyCode(a, generateIdentity().publicKey), code)
  })

  it('rejects a bad second key as well as a bad first', () => {
    assertRelayError(() => safetyCode(new Uint8Array(3)), 'bad-input', 'publicKeyA')
    assertRelayError(() => safetyCode(a, SMALL_ORDER), 'bad-input', 'publicKeyB')
    assertRelayError(() => safetyCode(a, 'b' as unknown as Uint8Array), 'bad-input', 'publicKeyB', 'Uint8Array')
  })
})
