/**
 * Control message tests: the known-answer vectors in
 * tests/vectors/control.json (written independently of the encoder), the
 * exported constants, round trips, and hostile input that may only raise
 * protocol-error or unsupported.
 *
 * Vector format: u64 fields are decimal strings; a decoded value above 2^53-1
 * is expected as Number.MAX_SAFE_INTEGER.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  CONTROL_CHANNEL_ID,
  CONTROL_TYPES,
  DATAGRAM_CHANNEL_ID,
  DEFAULT_WINDOWS,
  KeypinError,
  MAX_WEBRTC_DATAGRAM,
  WIRE_VERSION,
  decodeControl,
  encodeControl,
  type ControlMessage,
} from '@keypin/core'
import { assertKeypinError, fromHex, readVectors, toHex, seeded } from './support.js'

interface ControlVector {
  description: string
  hex: string
  message?: Record<string, string | number>
  error?: 'protocol-error' | 'unsupported'
  mentions?: string
}

const vectors = readVectors<ControlVector>('control.json')
const U64_FIELDS = new Set(['limit', 'initialMaxStreamData', 'initialMaxData', 'initialMaxStreams'])

/** The decoded form of a vector's message, and whether encoding it gives the vector's bytes back. */
function expectedMessage(spec: Record<string, string | number>): { message: ControlMessage; exact: boolean } {
  let exact = true
  const message: Record<string, string | number> = {}
  for (const [key, value] of Object.entries(spec)) {
    if (!U64_FIELDS.has(key)) {
      message[key] = value
      continue
    }
    const wire = BigInt(value)
    const capped = wire > BigInt(Number.MAX_SAFE_INTEGER)
    if (capped) exact = false
    message[key] = capped ? Number.MAX_SAFE_INTEGER : Number(wire)
  }
  return { message: message as unknown as ControlMessage, exact }
}

describe('control vectors', () => {
  for (const vector of vectors) {
    it(vector.description, () => {
      const bytes = fromHex(vector.hex)
      if (vector.error !== undefined) {
        assertKeypinError(() => decodeControl(bytes), vector.error, vector.mentions ?? '')
        return
      }
      assert.ok(vector.message, vector.description)
      const { message, exact } = expectedMessage(vector.message)
      assert.deepEqual(decodeControl(bytes), message)
      if (exact) assert.equal(toHex(encodeControl(message)), vector.hex)
    })
  }

  it('cover every message type and both error codes', () => {
    const types = new Set(vectors.filter((v) => v.message).map((v) => v.message?.['type']))
    assert.deepEqual([...types].sort(), Object.keys(CONTROL_TYPES).sort())
    assert.ok(vectors.some((v) => v.error === 'unsupported'))
    assert.ok(vectors.some((v) => v.error === 'protocol-error'))
  })
})

describe('control constants', () => {
  it('match the wire facts', () => {
    assert.equal(WIRE_VERSION, 1)
    assert.equal(CONTROL_CHANNEL_ID, 0)
    assert.equal(DATAGRAM_CHANNEL_ID, 1)
    assert.equal(MAX_WEBRTC_DATAGRAM, 1200)
    assert.deepEqual({ ...DEFAULT_WINDOWS }, {
      initialMaxStreamData: 1024 * 1024,
      initialMaxData: 8 * 1024 * 1024,
      initialMaxStreams: 100,
    })
    assert.ok(Object.isFrozen(DEFAULT_WINDOWS))
  })

  it('DEFAULT_WINDOWS spreads into a HELLO', () => {
    const hello = encodeControl({ type: 'hello', ...DEFAULT_WINDOWS })
    assert.equal(toHex(hello), '0101' + '0000000000100000' + '0000000000800000' + '0000000000000064')
  })
})

describe('encodeControl', () => {
  it('round-trips every type', () => {
    const messages: ControlMessage[] = [
      { type: 'connection-close', code: 0 },
      { type: 'connection-close', code: 0xffff_ffff },
      { type: 'hello', initialMaxStreamData: 1, initialMaxData: 2, initialMaxStreams: 3 },
      { type: 'hello', initialMaxStreamData: Number.MAX_SAFE_INTEGER, initialMaxData: 0, initialMaxStreams: 0 },
      { type: 'max-data', limit: 123_456_789 },
      { type: 'max-streams', limit: Number.MAX_SAFE_INTEGER },
    ]
    for (const message of messages) assert.deepEqual(decodeControl(encodeControl(message)), message)
  })

  it('rejects bad values with invalid-argument naming the field', () => {
    assertKeypinError(() => encodeControl({ type: 'connection-close', code: -1 }), 'invalid-argument', 'connection-close code')
    assertKeypinError(() => encodeControl({ type: 'max-data', limit: 2 ** 53 }), 'invalid-argument', 'max-data limit')
    assertKeypinError(() => encodeControl({ type: 'max-streams', limit: -1 }), 'invalid-argument', 'max-streams limit')
    assertKeypinError(
      () => encodeControl({ type: 'hello', initialMaxStreamData: 1, initialMaxData: 1.5, initialMaxStreams: 1 }),
      'invalid-argument',
      'initialMaxData',
    )
    assertKeypinError(
      () => encodeControl({ type: 'hello', initialMaxStreamData: 1, initialMaxData: 1 } as unknown as ControlMessage),
      'invalid-argument',
      'initialMaxStreams',
    )
    assertKeypinError(() => encodeControl({ type: 'goodbye' } as unknown as ControlMessage), 'invalid-argument', 'goodbye')
    assertKeypinError(() => encodeControl(undefined as unknown as ControlMessage), 'invalid-argument')
  })
})

describe('hostile control messages', () => {
  it('every truncation and extension of each message type is rejected', () => {
    const messages = [
      encodeControl({ type: 'connection-close', code: 2 }),
      encodeControl({ type: 'hello', ...DEFAULT_WINDOWS }),
      encodeControl({ type: 'max-data', limit: 1 }),
      encodeControl({ type: 'max-streams', limit: 1 }),
    ]
    for (const message of messages) {
      for (let length = 0; length < message.length; length++) {
        assertKeypinError(() => decodeControl(message.subarray(0, length)), 'protocol-error')
      }
      const longer = new Uint8Array(message.length + 1)
      longer.set(message)
      assertKeypinError(() => decodeControl(longer), 'protocol-error', 'payload')
    }
  })

  it('rejects every unknown type byte', () => {
    for (let type = 0x04; type <= 0xff; type++) {
      assertKeypinError(() => decodeControl(Uint8Array.of(type, 0, 0, 0, 0)), 'protocol-error', 'unknown control message type')
    }
  })

  it('10,000 random messages only ever raise protocol-error or unsupported', () => {
    const random = seeded(0x68656c6f)
    const seen = new Set<string>()
    for (let i = 0; i < 10_000; i++) {
      // Bias towards known types, their exact lengths, version 1 and small
      // u64 high bytes, so valid messages and the deeper checks are reached too.
      const type = random() < 0.8 ? Math.floor(random() * 5) : Math.floor(random() * 256)
      const exactLength = [5, 26, 9, 9][type]
      const length = exactLength !== undefined && random() < 0.5 ? exactLength : Math.floor(random() * 30)
      const bytes = new Uint8Array(length)
      for (let j = 0; j < length; j++) bytes[j] = Math.floor(random() * 256)
      if (length > 0) bytes[0] = type
      if (length > 1 && type === 1 && random() < 0.7) bytes[1] = WIRE_VERSION
      if (random() < 0.5) for (let j = type === 1 ? 2 : 1; j < length; j += 8) bytes[j] = (bytes[j] as number) & 0x3f
      try {
        decodeControl(bytes)
        seen.add('ok')
      } catch (error) {
        assert.ok(error instanceof KeypinError, `non-KeypinError for ${toHex(bytes)}: ${String(error)}`)
        assert.ok(error.code === 'protocol-error' || error.code === 'unsupported', `${error.code}: ${error.message}`)
        seen.add(error.code)
      }
    }
    assert.deepEqual([...seen].sort(), ['ok', 'protocol-error', 'unsupported'])
  })

  it('random messages of exactly the right length mostly decode', () => {
    const random = seeded(0x6d617864)
    let decoded = 0
    for (let i = 0; i < 2000; i++) {
      const type = Math.floor(random() * 4)
      const bytes = new Uint8Array([5, 26, 9, 9][type] as number)
      for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256)
      bytes[0] = type
      if (type === 1) bytes[1] = WIRE_VERSION
      for (let j = type === 1 ? 2 : 1; j < bytes.length; j += 8) bytes[j] = (bytes[j] as number) & 0x3f
      decodeControl(bytes)
      decoded++
    }
    assert.equal(decoded, 2000)
  })
})
