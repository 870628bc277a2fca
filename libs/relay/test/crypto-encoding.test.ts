/**
 * The sealed-message encoding under attack: one flipped bit in each field is
 * refused with the code that field calls for, every truncation and random
 * bytes are refused as `bad-input` (and nothing else is ever thrown), and
 * whatever does decode re-encodes to the same bytes.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  MAX_CIPHERTEXT_BYTES,
  MAX_PLAINTEXT_BYTES,
  MAX_SEALED_BYTES,
  decodeSealed,
  encodeSealed,
  openMessage,
  sealMessage,
  type RelayCryptoErrorCode,
  type SealedMessage,
} from '../dist/crypto/index.js'
import { assertRelayError, errorCodeOf, flipBit, makeParty, seeded, seededBytes, utf8 } from './crypto-support.js'

const alice = makeParty()
const bob = makeParty(5)
const prekey = bob.prekeys.get(5)?.prekey
assert.ok(prekey)

function seal(context: string, plaintext: Uint8Array): SealedMessage {
  assert.ok(prekey)
  return sealMessage({ sender: alice.identity, to: bob.userId, recipientIdentityKey: bob.identity.publicKey, recipientPrekey: prekey, context, plaintext })
}

/** Decodes and opens as Bob expecting Alice; the code of the refusal, or 'none'. */
function verdict(bytes: Uint8Array): RelayCryptoErrorCode | 'none' {
  return errorCodeOf(() =>
    openMessage({ recipient: bob.identity, senderIdentityKey: alice.identity.publicKey, prekeySecret: bob.prekeySecret, message: decodeSealed(bytes) }),
  )
}

const CONTEXT = 'room:abc'
const message = seal(CONTEXT, utf8('hello'))
const encoded = encodeSealed(message)

// Field boundaries of `encoded`, from the layout in encoding.ts.
const contextStart = 59
const sentAtStart = contextStart + CONTEXT.length
const fields = {
  version: [0, 1],
  id: [1, 17],
  from: [17, 37],
  to: [37, 57],
  contextLength: [57, 59],
  contextPrefix: [contextStart, contextStart + 5],
  roomId: [contextStart + 5, sentAtStart],
  sentAt: [sentAtStart, sentAtStart + 8],
  prekeyId: [sentAtStart + 8, sentAtStart + 12],
  ephemeralKey: [sentAtStart + 12, sentAtStart + 44],
  nonce: [sentAtStart + 44, sentAtStart + 68],
  ciphertextLength: [sentAtStart + 68, sentAtStart + 72],
  ciphertext: [sentAtStart + 72, encoded.length - 64],
  signature: [encoded.length - 64, encoded.length],
} as const satisfies Record<string, readonly [number, number]>

/** The code a flip of `bit` (0 = least significant) in byte `index` of field `name` must give. */
function expected(name: keyof typeof fields, index: number, bit: number): RelayCryptoErrorCode {
  switch (name) {
    case 'version':
    case 'contextLength':
    case 'contextPrefix':
    case 'ciphertextLength':
      return 'bad-input'
    case 'roomId':
      return bit === 7 ? 'bad-input' : 'bad-signature' // a set top bit alone is invalid UTF-8
    case 'sentAt':
      return index < 1 || (index === 1 && bit >= 5) ? 'bad-input' : 'bad-signature' // above 2^53 - 1
    case 'from':
      return 'bad-sender'
    case 'to':
      return 'wrong-recipient'
    default:
      return 'bad-signature'
  }
}

describe('encodeSealed / decodeSealed', () => {
  it('round-trips and the layout is where the tests think it is', () => {
    assert.equal(verdict(encoded), 'none')
    assert.equal(encoded.length, sentAtStart + 72 + message.ciphertext.length + 64)
    assert.deepEqual(encoded.subarray(...fields.roomId), utf8('abc'))
    assert.deepEqual(encoded.subarray(...fields.signature), message.signature)
    const decoded = decodeSealed(encoded)
    assert.deepEqual({ ...decoded }, { ...message })
    assert.deepEqual(encodeSealed(decoded), encoded)
  })

  it('the decoded message does not alias the input bytes', () => {
    const copy = encoded.slice()
    const decoded = decodeSealed(copy)
    copy.fill(0)
    assert.deepEqual(encodeSealed(decoded), encoded)
  })

  for (const [name, [start, end]] of Object.entries(fields) as Array<[keyof typeof fields, readonly [number, number]]>) {
    it(`a flipped bit in ${name} is refused as the field calls for`, () => {
      const small = end - start <= 8
      for (let i = start; i < end; i++) {
        // Every bit of small fields, one rotating bit per byte of the large ones.
        const bits = small ? [0, 1, 2, 3, 4, 5, 6, 7] : [i % 8]
        for (const bit of bits) {
          assert.equal(verdict(flipBit(encoded, i * 8 + bit)), expected(name, i - start, bit), `${name} byte ${i - start} bit ${bit}`)
        }
      }
    })
  }

  it('every truncation is bad-input naming it', () => {
    for (let length = 0; length < encoded.length; length++) {
      assertRelayError(() => decodeSealed(encoded.subarray(0, length)), 'bad-input', 'truncated')
    }
  })

  it('trailing bytes are bad-input', () => {
    assertRelayError(() => decodeSealed(new Uint8Array([...encoded, 0])), 'bad-input', '1 unexpected bytes')
  })

  it('random bytes and random mutations only ever give bad-input, or bytes that re-encode exactly', () => {
    const next = seeded(0x5eed)
    let decodedCount = 0
    for (let round = 0; round < 1500; round++) {
      let bytes: Uint8Array
      if (round % 3 === 0) {
        bytes = seededBytes(next, Math.floor(next() * 300))
        if (round % 2 === 0 && bytes.length > 0) bytes[0] = 1
      } else {
        bytes = encoded.slice()
        const edits = 1 + Math.floor(next() * 4)
        for (let e = 0; e < edits; e++) bytes[Math.floor(next() * bytes.length)] = Math.floor(next() * 256)
        if (round % 3 === 2) bytes = bytes.subarray(0, Math.floor(next() * bytes.length))
      }
      let decoded: SealedMessage | undefined
      const code = errorCodeOf(() => {
        decoded = decodeSealed(bytes)
      })
      if (decoded === undefined) {
        assert.equal(code, 'bad-input', `round ${round}`)
      } else {
        decodedCount++
        assert.deepEqual(encodeSealed(decoded), bytes, `round ${round} is not canonical`)
        const unchanged = bytes.length === encoded.length && bytes.every((byte, i) => byte === encoded[i])
        if (!unchanged) assert.notEqual(verdict(bytes), 'none', `round ${round} opened after mutation`)
      }
    }
    assert.ok(decodedCount > 50, `only ${decodedCount} mutations decoded; the fuzz is not reaching the opener`)
  })

  it('takes the largest message and refuses anything larger', () => {
    const largest = encodeSealed(seal(`room:${'r'.repeat(251)}`, new Uint8Array(MAX_PLAINTEXT_BYTES)))
    assert.equal(largest.length, MAX_SEALED_BYTES)
    assert.equal(verdict(largest), 'none')
    assertRelayError(() => decodeSealed(new Uint8Array(MAX_SEALED_BYTES + 1)), 'bad-input', `at most ${MAX_SEALED_BYTES}`)
  })

  it('refuses out-of-range lengths and values, naming them', () => {
    const at = (offset: number, ...values: number[]): Uint8Array => {
      const bytes = encoded.slice()
      bytes.set(values, offset)
      return bytes
    }
    assertRelayError(() => decodeSealed(at(0, 2)), 'bad-input', 'version 2')
    assertRelayError(() => decodeSealed(at(57, 0, 0)), 'bad-input', 'context length 0')
    assertRelayError(() => decodeSealed(at(57, 1, 1)), 'bad-input', 'context length 257')
    assertRelayError(() => decodeSealed(at(contextStart + 5, 0xc3, 0x28)), 'bad-input', 'context is not valid UTF-8')
    assertRelayError(() => decodeSealed(at(contextStart + 5, 0x07)), 'bad-input', 'control character')
    assertRelayError(() => decodeSealed(at(contextStart, ...utf8('rooms'))), 'bad-input', 'room:<roomId>')
    assertRelayError(() => decodeSealed(at(sentAtStart, 0, 0x20)), 'bad-input', 'sentAt is larger than')
    const ctLength = fields.ciphertextLength[0]
    assertRelayError(() => decodeSealed(at(ctLength, 0, 0, 0, 15)), 'bad-input', 'ciphertext length 15')
    assertRelayError(() => decodeSealed(at(ctLength, 0, 1, 0, 1)), 'bad-input', `${MAX_CIPHERTEXT_BYTES + 1} is outside`)
    assertRelayError(() => decodeSealed(at(ctLength, 0xff, 0xff, 0xff, 0xff)), 'bad-input', 'ciphertext length')
  })

  it('keeps a leading byte-order mark in a room id (decoding drops nothing)', () => {
    const bytes = encodeSealed(seal('room:\ufeffx', utf8('bom')))
    assert.equal(decodeSealed(bytes).context, 'room:\ufeffx')
    assert.deepEqual(encodeSealed(decodeSealed(bytes)), bytes)
  })

  it('refuses non-bytes and malformed messages', () => {
    assertRelayError(() => decodeSealed('01' as unknown as Uint8Array), 'bad-input', 'sealed message must be a Uint8Array')
    assertRelayError(() => decodeSealed(null as unknown as Uint8Array), 'bad-input', 'null')
    assertRelayError(() => encodeSealed({ ...message, id: 'x' }), 'bad-input', 'message.id')
    assertRelayError(() => encodeSealed({ ...message, to: message.to.toUpperCase() }), 'bad-input', 'message.to')
    assertRelayError(() => encodeSealed({ ...message, prekeyId: -1 }), 'bad-input', 'message.prekeyId')
    assertRelayError(() => encodeSealed({ ...message, ephemeralKey: new Uint8Array(33) }), 'bad-input', 'message.ephemeralKey', '33')
    assertRelayError(() => encodeSealed({ ...message, ciphertext: new Uint8Array(MAX_CIPHERTEXT_BYTES + 1) }), 'bad-input', 'message.ciphertext')
    assertRelayError(() => encodeSealed({ ...message, signature: message.signature.subarray(1) }), 'bad-input', 'message.signature')
    assertRelayError(() => encodeSealed(undefined as unknown as SealedMessage), 'bad-input', 'message must be an object')
  })
})
