/**
 * Known-answer vectors for the relay crypto (test/vectors/crypto-*.json).
 * The vectors were computed by a separate implementation of the documented
 * construction (Python with pyca/cryptography), not by this code, so a match
 * pins the byte layouts and key derivation as SPEC.md section 8 describes them.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { x25519 } from '@noble/curves/ed25519.js'
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { concatBytes } from '@noble/hashes/utils.js'
import {
  decodeSealed,
  encodeSealed,
  identityFromSecret,
  loginMessage,
  openMessage,
  prekeyFromSecret,
  safetyCode,
  signLogin,
  userIdOf,
  verifyLogin,
  verifyPrekey,
} from '../dist/crypto/index.js'
import { sealMessageWith } from '../dist/crypto/seal.js'
import { fixedRandom, fromHex, readVectors, toHex, utf8 } from './crypto-support.js'

interface UserIdVector { publicKey: string; userId: string }
interface SafetyVector { publicKeyA: string; publicKeyB?: string; code: string }
interface LoginVector { identitySecret: string; certhash: string; nonce: string; publicKey: string; message: string; signature: string }
interface PrekeyVector { identitySecret: string; secretKey: string; id: number; createdAt: number; publicKey: string; signature: string }
interface SealedVector {
  comment: string
  senderSecret: string
  recipientSecret: string
  prekeySecret: string
  prekeyId: number
  prekeyCreatedAt: number
  context: string
  sentAt: number
  plaintext: string
  id?: string
  random: string
  from: string
  to: string
  messageId: string
  sharedSecret: string
  key: string
  encoded: string
}

describe('user id vectors', () => {
  for (const v of readVectors<UserIdVector>('crypto-user-id.json')) {
    it(v.userId, () => assert.equal(userIdOf(fromHex(v.publicKey)), v.userId))
  }
})

describe('safety code vectors', () => {
  for (const v of readVectors<SafetyVector>('crypto-safety-code.json')) {
    it(v.code, () => {
      const a = fromHex(v.publicKeyA)
      if (v.publicKeyB === undefined) {
        assert.equal(safetyCode(a), v.code)
      } else {
        const b = fromHex(v.publicKeyB)
        assert.equal(safetyCode(a, b), v.code)
        assert.equal(safetyCode(b, a), v.code)
      }
    })
  }
})

describe('login vectors', () => {
  for (const v of readVectors<LoginVector>('crypto-login.json')) {
    it(v.certhash, () => {
      const identity = identityFromSecret(fromHex(v.identitySecret))
      assert.equal(toHex(identity.publicKey), v.publicKey)
      const challenge = { certhash: v.certhash, nonce: fromHex(v.nonce) }
      assert.equal(toHex(loginMessage({ ...challenge, publicKey: identity.publicKey })), v.message)
      assert.equal(toHex(signLogin(identity, challenge)), v.signature)
      assert.equal(verifyLogin(identity.publicKey, challenge, fromHex(v.signature)), true)
    })
  }
})

describe('prekey vectors', () => {
  for (const v of readVectors<PrekeyVector>('crypto-prekey.json')) {
    it(`prekey ${v.id}`, () => {
      const identity = identityFromSecret(fromHex(v.identitySecret))
      const { prekey, secretKey } = prekeyFromSecret(identity, v.id, fromHex(v.secretKey), v.createdAt)
      assert.equal(toHex(prekey.publicKey), v.publicKey)
      assert.equal(toHex(prekey.signature), v.signature)
      assert.equal(toHex(secretKey), v.secretKey)
      assert.equal(verifyPrekey(identity.publicKey, { id: v.id, createdAt: v.createdAt, publicKey: fromHex(v.publicKey), signature: fromHex(v.signature) }), true)
    })
  }
})

describe('sealed message vectors', () => {
  for (const v of readVectors<SealedVector>('crypto-sealed.json')) {
    describe(v.comment, () => {
      const sender = identityFromSecret(fromHex(v.senderSecret))
      const recipient = identityFromSecret(fromHex(v.recipientSecret))
      const { prekey } = prekeyFromSecret(recipient, v.prekeyId, fromHex(v.prekeySecret), v.prekeyCreatedAt)
      const prekeySecret = (id: number): Uint8Array | undefined => (id === v.prekeyId ? fromHex(v.prekeySecret) : undefined)

      it('seals to the pinned bytes', () => {
        const message = sealMessageWith(
          {
            sender: sender,
            to: v.to,
            recipientIdentityKey: recipient.publicKey,
            recipientPrekey: prekey,
            context: v.context,
            plaintext: utf8(v.plaintext),
            sentAt: v.sentAt,
            ...(v.id === undefined ? {} : { id: v.id }),
          },
          fixedRandom(v.random),
        )
        assert.equal(message.id, v.messageId)
        assert.equal(message.from, v.from)
        assert.equal(toHex(encodeSealed(message)), v.encoded)
      })

      it('decodes, re-encodes byte for byte, and opens', () => {
        const message = decodeSealed(fromHex(v.encoded))
        assert.deepEqual(
          { v: message.v, id: message.id, from: message.from, to: message.to, context: message.context, sentAt: message.sentAt, prekeyId: message.prekeyId },
          { v: 1, id: v.messageId, from: v.from, to: v.to, context: v.context, sentAt: v.sentAt, prekeyId: v.prekeyId },
        )
        assert.equal(toHex(encodeSealed(message)), v.encoded)
        const plaintext = openMessage({ recipient, senderIdentityKey: sender.publicKey, prekeySecret, message, expectedContext: v.context })
        assert.equal(new TextDecoder().decode(plaintext), v.plaintext)
      })

      it('follows the documented construction step by step', () => {
        const message = decodeSealed(fromHex(v.encoded))
        const shared = x25519.getSharedSecret(fromHex(v.prekeySecret), message.ephemeralKey)
        assert.equal(toHex(shared), v.sharedSecret)
        const key = hkdf(sha256, shared, concatBytes(message.ephemeralKey, prekey.publicKey), utf8('keypin-relay-seal-v1'), 32)
        assert.equal(toHex(key), v.key)
        // The header is the encoding up to and including the ephemeral key.
        const encoded = fromHex(v.encoded)
        const headerLength = 1 + 16 + 20 + 20 + 2 + utf8(v.context).length + 8 + 4 + 32
        const label = utf8('keypin-relay-seal-ad-v1')
        const ad = concatBytes(Uint8Array.of(label.length), label, encoded.subarray(0, headerLength))
        const plaintext = xchacha20poly1305(key, message.nonce, ad).decrypt(message.ciphertext)
        assert.equal(new TextDecoder().decode(plaintext), v.plaintext)
      })
    })
  }

  it('the first vector derives the RFC 7748 shared secret (ephemeral = Alice, prekey = Bob)', () => {
    const [first] = readVectors<SealedVector>('crypto-sealed.json')
    assert.equal(first?.sharedSecret, '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742')
  })
})
