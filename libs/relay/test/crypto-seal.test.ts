/**
 * Sealing and opening: round trips, and each refusal openMessage promises,
 * with the code it promises. Encoding-level tampering is in
 * crypto-encoding.test.ts.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ed25519 } from '@noble/curves/ed25519.js'
import { concatBytes } from '@noble/hashes/utils.js'
import {
  MAX_PLAINTEXT_BYTES,
  generatePrekey,
  openMessage,
  sealMessage,
  verifyPrekey,
  type SealedMessage,
} from '../dist/crypto/index.js'
import { resignSealed } from '../dist/crypto/seal.js'
import { assertRelayError, flipBit, makeParty, utf8, type Party } from './crypto-support.js'

const alice = makeParty()
const bob = makeParty(1, 2)
const eve = makeParty(1)

function seal(from: Party, to: Party, prekeyId: number, context = 'dm', plaintext = utf8('hi bob')): SealedMessage {
  const prekey = to.prekeys.get(prekeyId)
  assert.ok(prekey)
  return sealMessage({
    sender: from.identity,
    to: to.userId,
    recipientIdentityKey: to.identity.publicKey,
    recipientPrekey: prekey.prekey,
    context,
    plaintext,
  })
}

function open(message: SealedMessage, as: Party = bob, sender: Party = alice, expectedContext?: string): Uint8Array {
  return openMessage({
    recipient: as.identity,
    senderIdentityKey: sender.identity.publicKey,
    prekeySecret: as.prekeySecret,
    message,
    ...(expectedContext === undefined ? {} : { expectedContext }),
  })
}

describe('sealMessage / openMessage round trips', () => {
  it('opens what was sealed, for DMs and rooms, empty and largest plaintexts', () => {
    const big = new Uint8Array(MAX_PLAINTEXT_BYTES).map((_, i) => i * 31)
    for (const [context, plaintext] of [['dm', utf8('hello')], ['room:general', new Uint8Array(0)], ['room:🙂', big]] as const) {
      const message = seal(alice, bob, 2, context, plaintext)
      assert.deepEqual(open(message, bob, alice, context), plaintext)
      assert.equal(message.ciphertext.length, plaintext.length + 16)
    }
  })

  it('fills in the header: from, to, a fresh id, now, the prekey id', () => {
    const before = Date.now()
    const message = seal(alice, bob, 1)
    assert.equal(message.v, 1)
    assert.equal(message.from, alice.userId)
    assert.equal(message.to, bob.userId)
    assert.match(message.id, /^[0-9a-f]{32}$/)
    assert.ok(message.sentAt >= before && message.sentAt <= Date.now())
    assert.equal(message.prekeyId, 1)
    assert.equal(message.ephemeralKey.length, 32)
    assert.equal(message.nonce.length, 24)
    assert.equal(message.signature.length, 64)
  })

  it('uses a fresh ephemeral key, nonce and id every time', () => {
    const a = seal(alice, bob, 1)
    const b = seal(alice, bob, 1)
    assert.notEqual(a.id, b.id)
    assert.notDeepEqual(a.ephemeralKey, b.ephemeralKey)
    assert.notDeepEqual(a.nonce, b.nonce)
    assert.notDeepEqual(a.ciphertext, b.ciphertext)
  })

  it('keeps a given id and sentAt', () => {
    const prekey = bob.prekeys.get(1)?.prekey
    assert.ok(prekey)
    const message = sealMessage({
      sender: alice.identity, to: bob.userId, recipientIdentityKey: bob.identity.publicKey, recipientPrekey: prekey,
      context: 'dm', plaintext: utf8('x'), id: 'ab'.repeat(16), sentAt: 12345,
    })
    assert.equal(message.id, 'ab'.repeat(16))
    assert.equal(message.sentAt, 12345)
    assert.deepEqual(open(message), utf8('x'))
  })
})

describe('openMessage refusals', () => {
  const message = seal(alice, bob, 1)

  it('wrong-recipient: a message for someone else', () => {
    assertRelayError(() => open(message, eve), 'wrong-recipient', bob.userId)
  })

  it('bad-sender: the claimed sender is not the key given', () => {
    assertRelayError(() => open(message, bob, eve), 'bad-sender', alice.userId)
  })

  it('bad-signature: a forged or altered signature', () => {
    assertRelayError(() => open({ ...message, signature: new Uint8Array(64) }), 'bad-signature')
    assertRelayError(() => open({ ...message, signature: flipBit(message.signature, 3) }), 'bad-signature')
    // Eve signs Alice's message with her own key: it still claims Alice.
    const { signature: _, ...unsigned } = message
    assertRelayError(() => open(resignSealed(eve.identity, unsigned)), 'bad-signature')
  })

  it('bad-signature: any field changed after signing', () => {
    const variants: Array<Partial<SealedMessage>> = [
      { id: '0'.repeat(32) },
      { context: 'room:elsewhere' },
      { sentAt: message.sentAt + 1 },
      { prekeyId: 2 },
      { ephemeralKey: flipBit(message.ephemeralKey, 0) },
      { nonce: flipBit(message.nonce, 100) },
      { ciphertext: flipBit(message.ciphertext, 9) },
    ]
    for (const change of variants) assertRelayError(() => open({ ...message, ...change }), 'bad-signature')
  })

  it('tampered: sealed for another context than expected', () => {
    assertRelayError(() => open(seal(alice, bob, 1, 'room:a'), bob, alice, 'room:b'), 'tampered', 'room:a', 'room:b')
    assertRelayError(() => open(seal(alice, bob, 1, 'room:a'), bob, alice, 'dm'), 'tampered')
  })

  it('unknown-prekey: the recipient no longer holds the prekey', () => {
    const gone = seal(alice, bob, 2)
    assertRelayError(
      () => openMessage({ recipient: bob.identity, senderIdentityKey: alice.identity.publicKey, prekeySecret: () => undefined, message: gone }),
      'unknown-prekey',
      'prekey 2',
    )
  })

  it('tampered: a signed message whose ciphertext does not authenticate', () => {
    // The sender herself alters bits after encrypting and signs the result.
    const { signature: _, ...unsigned } = message
    assertRelayError(() => open(resignSealed(alice.identity, { ...unsigned, ciphertext: flipBit(unsigned.ciphertext, 0) })), 'tampered')
    assertRelayError(() => open(resignSealed(alice.identity, { ...unsigned, nonce: flipBit(unsigned.nonce, 0) })), 'tampered')
    assertRelayError(() => open(resignSealed(alice.identity, { ...unsigned, ephemeralKey: flipBit(unsigned.ephemeralKey, 0) })), 'tampered')
  })

  it('tampered: the header is bound to the ciphertext (associated data)', () => {
    const { signature: _, ...unsigned } = message
    // Each header field changed and re-signed by the sender: the signature is fine, the AEAD is not.
    const changes: Array<Partial<SealedMessage>> = [{ id: 'f'.repeat(32) }, { sentAt: 1 }, { context: 'room:x' }, { prekeyId: 2 }]
    for (const change of changes) assertRelayError(() => open(resignSealed(alice.identity, { ...unsigned, ...change })), 'tampered')
    // Eve takes Alice's ciphertext, claims it as hers and signs it: the sender id is in the AD.
    const stolen = resignSealed(eve.identity, { ...unsigned, from: eve.userId })
    assertRelayError(() => open(stolen, bob, eve), 'tampered')
  })

  it('tampered: opened with the secret of a different prekey under the same id', () => {
    const otherSecret = generatePrekey(bob.identity, 1).secretKey
    assertRelayError(
      () => openMessage({ recipient: bob.identity, senderIdentityKey: alice.identity.publicKey, prekeySecret: () => otherSecret, message }),
      'tampered',
    )
  })

  it('a message forwarded to a third party does not open there', () => {
    // Bob re-addresses Alice's message to Eve and cannot re-sign as Alice.
    assertRelayError(() => open({ ...message, to: eve.userId }, eve), 'bad-signature')
  })

  it('checks in the documented order', () => {
    // Wrong recipient wins over a bad signature, bad sender over bad signature, signature over context.
    const forged = { ...message, signature: new Uint8Array(64) }
    assertRelayError(() => open(forged, eve), 'wrong-recipient')
    assertRelayError(() => open(forged, bob, eve), 'bad-sender')
    assertRelayError(() => open(forged, bob, alice, 'room:zzz'), 'bad-signature')
    assertRelayError(
      () => openMessage({ recipient: bob.identity, senderIdentityKey: alice.identity.publicKey, prekeySecret: () => undefined, message, expectedContext: 'room:q' }),
      'tampered',
    )
  })
})

describe('bad input', () => {
  const prekey = bob.prekeys.get(1)?.prekey
  assert.ok(prekey)
  const good = {
    sender: alice.identity, to: bob.userId, recipientIdentityKey: bob.identity.publicKey, recipientPrekey: prekey,
    context: 'dm', plaintext: utf8('x'),
  }

  it('sealMessage names the problem', () => {
    const cases: Array<[Record<string, unknown>, string[]]> = [
      [{ to: eve.userId }, ['to', 'not the user id of recipientIdentityKey']],
      [{ to: 'bob' }, ['to must be a user id']],
      [{ recipientPrekey: eve.prekeys.get(1)?.prekey }, ['recipientPrekey is not signed by recipientIdentityKey']],
      [{ recipientPrekey: { ...prekey, publicKey: new Uint8Array(32) } }, ['recipientPrekey']],
      [{ recipientPrekey: { ...prekey, id: 'one' } }, ['recipientPrekey.id']],
      [{ recipientIdentityKey: new Uint8Array(32) }, ['recipientIdentityKey']],
      [{ context: 'chat' }, ['context', 'room:<roomId>']],
      [{ context: 'room:' }, ['context']],
      [{ context: 'room:a\nb' }, ['context', 'control character']],
      [{ context: `room:${'r'.repeat(252)}` }, ['context', '257 UTF-8 bytes']],
      [{ context: 'room:\ud800' }, ['context', 'lone surrogate']],
      [{ plaintext: 'text' }, ['plaintext', 'Uint8Array']],
      [{ plaintext: new Uint8Array(MAX_PLAINTEXT_BYTES + 1) }, ['plaintext', `${MAX_PLAINTEXT_BYTES + 1} bytes`]],
      [{ id: 'AB'.repeat(16) }, ['id', 'lowercase hex']],
      [{ id: 'ab' }, ['id']],
      [{ sentAt: -1 }, ['sentAt']],
      [{ sentAt: 2 ** 53 }, ['sentAt']],
      [{ sender: { publicKey: alice.identity.publicKey, secretKey: bob.identity.secretKey } }, ['sender.publicKey does not belong']],
      [{ sender: { publicKey: alice.identity.publicKey } }, ['sender.secretKey']],
    ]
    for (const [change, fragments] of cases) {
      assertRelayError(() => sealMessage({ ...good, ...change } as unknown as Parameters<typeof sealMessage>[0]), 'bad-input', ...fragments)
    }
    assertRelayError(() => sealMessage(null as unknown as Parameters<typeof sealMessage>[0]), 'bad-input', 'seal input')
  })

  it('sealMessage refuses a low-order prekey even when its owner signed it', () => {
    // X25519 with u = 0 gives an all-zero shared secret. The API cannot make
    // such a prekey, so sign one by hand with the documented layout.
    const lowOrder = new Uint8Array(32)
    const label = utf8('keypin-relay-prekey-v1')
    const signed = concatBytes(Uint8Array.of(label.length), label, Uint8Array.of(0, 0, 0, 9), new Uint8Array(8), lowOrder)
    const recipientPrekey = { id: 9, createdAt: 0, publicKey: lowOrder, signature: ed25519.sign(signed, bob.identity.secretKey) }
    assert.equal(verifyPrekey(bob.identity.publicKey, recipientPrekey), true)
    assertRelayError(() => sealMessage({ ...good, recipientPrekey }), 'bad-input', 'low-order')
  })

  it('openMessage names the problem', () => {
    const message = seal(alice, bob, 1)
    const base = { recipient: bob.identity, senderIdentityKey: alice.identity.publicKey, prekeySecret: bob.prekeySecret, message }
    const cases: Array<[Record<string, unknown>, string[]]> = [
      [{ message: { ...message, nonce: message.nonce.subarray(1) } }, ['message.nonce', '24 bytes']],
      [{ message: { ...message, v: 2 } }, ['message.v']],
      [{ message: { ...message, from: 'alice' } }, ['message.from']],
      [{ message: { ...message, ciphertext: new Uint8Array(15) } }, ['message.ciphertext', '15 bytes']],
      [{ message: { ...message, signature: undefined } }, ['message.signature']],
      [{ message: 'bytes' }, ['message must be an object']],
      [{ senderIdentityKey: new Uint8Array(32) }, ['senderIdentityKey']],
      [{ recipient: { secretKey: bob.identity.secretKey } }, ['recipient.publicKey']],
      [{ recipient: 'bob' }, ['recipient must be an object']],
      [{ prekeySecret: new Map() }, ['prekeySecret must be a function']],
      [{ prekeySecret: () => new Uint8Array(31) }, ['prekeySecret(1)', '32 bytes']],
      [{ expectedContext: 'general' }, ['expectedContext']],
    ]
    for (const [change, fragments] of cases) {
      assertRelayError(() => openMessage({ ...base, ...change } as unknown as Parameters<typeof openMessage>[0]), 'bad-input', ...fragments)
    }
  })
})
