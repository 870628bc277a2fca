/** Signed prekeys: generation, verification and every way a prekey can be wrong. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { x25519 } from '@noble/curves/ed25519.js'
import { generateIdentity, generatePrekey, prekeyFromSecret, verifyPrekey, type SignedPrekey } from '../dist/crypto/index.js'
import { assertRelayError } from './crypto-support.js'

describe('signed prekeys', () => {
  const identity = generateIdentity()
  const { prekey, secretKey } = generatePrekey(identity, 42, 1_700_000_000_000)

  it('pairs an X25519 key with its secret and signs it', () => {
    assert.equal(prekey.id, 42)
    assert.equal(prekey.createdAt, 1_700_000_000_000)
    assert.deepEqual(x25519.getPublicKey(secretKey), prekey.publicKey)
    assert.equal(prekey.signature.length, 64)
    assert.equal(verifyPrekey(identity.publicKey, prekey), true)
  })

  it('defaults createdAt to now', () => {
    const before = Date.now()
    const created = generatePrekey(identity, 1).prekey.createdAt
    assert.ok(created >= before && created <= Date.now())
  })

  it('rejects another signer and every altered field', () => {
    assert.equal(verifyPrekey(generateIdentity().publicKey, prekey), false)
    const altered: SignedPrekey[] = [
      { ...prekey, id: 43 },
      { ...prekey, createdAt: prekey.createdAt + 1 },
      { ...prekey, publicKey: generatePrekey(identity, 42).prekey.publicKey },
      { ...prekey, signature: prekey.signature.map((byte, i) => (i === 10 ? byte ^ 4 : byte)) },
    ]
    for (const bad of altered) assert.equal(verifyPrekey(identity.publicKey, bad), false)
  })

  it('returns false, never throws, for malformed prekeys or keys', () => {
    const malformed: unknown[] = [
      null,
      {},
      { ...prekey, id: -1 },
      { ...prekey, id: 2 ** 32 },
      { ...prekey, id: 1.5 },
      { ...prekey, createdAt: Number.NaN },
      { ...prekey, publicKey: prekey.publicKey.subarray(1) },
      { ...prekey, signature: 'sig' },
    ]
    for (const bad of malformed) assert.equal(verifyPrekey(identity.publicKey, bad as SignedPrekey), false)
    assert.equal(verifyPrekey(new Uint8Array(31), prekey), false)
    assert.equal(verifyPrekey(undefined as unknown as Uint8Array, prekey), false)
  })

  it('refuses bad input when generating, naming the field', () => {
    assertRelayError(() => generatePrekey(identity, -1), 'bad-input', 'prekey id', '4294967295')
    assertRelayError(() => generatePrekey(identity, 2 ** 32), 'bad-input', 'prekey id')
    assertRelayError(() => generatePrekey(identity, 1, -5), 'bad-input', 'createdAt')
    assertRelayError(() => generatePrekey({ publicKey: identity.publicKey, secretKey: new Uint8Array(32) }, 1), 'bad-input', 'does not belong')
    assertRelayError(() => generatePrekey(null as unknown as typeof identity, 1), 'bad-input', 'identity must be an object')
    assertRelayError(() => prekeyFromSecret(identity, 1, new Uint8Array(16), 0), 'bad-input', 'prekey secretKey', '32 bytes')
  })
})
