/** Login challenge-response: binding to relay, connection and key; hostile input. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { certhashFromDigest } from '@keypin/core'
import { generateIdentity, loginMessage, signLogin, verifyLogin } from '../dist/crypto/index.js'
import { assertRelayError } from './crypto-support.js'

const certhash = certhashFromDigest(new Uint8Array(32).fill(7))
const otherCerthash = certhashFromDigest(new Uint8Array(32).fill(8))
const nonce = new Uint8Array(32).fill(1)

describe('login', () => {
  const identity = generateIdentity()
  const signature = signLogin(identity, { certhash, nonce })

  it('signs a 64-byte signature that verifies for the same challenge', () => {
    assert.equal(signature.length, 64)
    assert.equal(verifyLogin(identity.publicKey, { certhash, nonce }, signature), true)
  })

  it('is false for another relay, another nonce or another key', () => {
    assert.equal(verifyLogin(identity.publicKey, { certhash: otherCerthash, nonce }, signature), false)
    const otherNonce = nonce.slice()
    otherNonce[31] = (otherNonce[31] as number) ^ 1
    assert.equal(verifyLogin(identity.publicKey, { certhash, nonce: otherNonce }, signature), false)
    assert.equal(verifyLogin(generateIdentity().publicKey, { certhash, nonce }, signature), false)
  })

  it('is false for any altered signature bit', () => {
    for (let bit = 0; bit < 512; bit += 7) {
      const forged = signature.slice()
      forged[bit >> 3] = (forged[bit >> 3] as number) ^ (1 << (bit & 7))
      assert.equal(verifyLogin(identity.publicKey, { certhash, nonce }, forged), false, `bit ${bit}`)
    }
  })

  it('never throws on malformed arguments, it returns false', () => {
    const cases: Array<[unknown, unknown, unknown]> = [
      [identity.publicKey, { certhash, nonce }, signature.subarray(0, 63)],
      [identity.publicKey, { certhash, nonce }, 'sig'],
      [identity.publicKey.subarray(1), { certhash, nonce }, signature],
      [new Uint8Array(32), { certhash, nonce }, new Uint8Array(64)], // small-order key, zero signature
      [identity.publicKey, { certhash, nonce: nonce.subarray(1) }, signature],
      [identity.publicKey, { certhash: 'not-a-certhash', nonce }, signature],
      [identity.publicKey, null, signature],
      [undefined, undefined, undefined],
    ]
    for (const [key, challenge, sig] of cases) {
      assert.equal(verifyLogin(key as Uint8Array, challenge as { certhash: string; nonce: Uint8Array }, sig as Uint8Array), false)
    }
  })

  it('message binds every field, each length-prefixed after a domain label', () => {
    const message = loginMessage({ certhash, nonce, publicKey: identity.publicKey })
    const label = new TextEncoder().encode('keypin-relay-login-v1')
    assert.equal(message[0], label.length)
    assert.deepEqual(message.subarray(1, 1 + label.length), label)
    assert.equal(message.length, 1 + label.length + 2 + certhash.length + 2 + 32 + 2 + 32)
    assert.deepEqual(message.subarray(-32), identity.publicKey)
  })

  it('refuses bad input when building or signing, naming the field', () => {
    assertRelayError(() => loginMessage({ certhash, nonce: new Uint8Array(16), publicKey: identity.publicKey }), 'bad-input', 'nonce', '32 bytes', 'got 16')
    assertRelayError(() => loginMessage({ certhash: 'uAAAA', nonce, publicKey: identity.publicKey }), 'bad-input', 'certhash')
    assertRelayError(() => loginMessage({ certhash: 7 as unknown as string, nonce, publicKey: identity.publicKey }), 'bad-input', 'certhash must be a string')
    assertRelayError(() => loginMessage({ certhash, nonce, publicKey: new Uint8Array(32) }), 'bad-input', 'publicKey')
    assertRelayError(() => signLogin({ publicKey: identity.publicKey, secretKey: generateIdentity().secretKey }, { certhash, nonce }), 'bad-input', 'does not belong')
    assertRelayError(() => signLogin(identity, { certhash, nonce: [1, 2] as unknown as Uint8Array }), 'bad-input', 'nonce', 'Uint8Array')
    assertRelayError(() => signLogin(identity, null as unknown as { certhash: string; nonce: Uint8Array }), 'bad-input', 'login challenge')
  })
})
