/**
 * Stream frame tests: the known-answer vectors in tests/vectors/frames.json
 * (written independently of the encoder), round trips, DATA splitting, and
 * hostile input: truncation at every length and seeded random bytes, which
 * may only ever raise a protocol-error KeypinError.
 *
 * Vector format: the encoding is `hex` followed by `fillCount` copies of the
 * byte `fillByte` when present; u64 values are decimal strings (they exceed
 * what a JSON number holds exactly).
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  FRAME_TYPES,
  KeypinError,
  MAX_DATA_PAYLOAD,
  MAX_FRAME_SIZE,
  decodeFrame,
  encodeDataFrames,
  encodeFrame,
  type StreamFrame,
} from '@keypin/core'
import { assertKeypinError, fromHex, readVectors, toHex, seeded } from './support.js'

interface FrameVector {
  description: string
  hex: string
  fillByte?: string
  fillCount?: number
  frame?: { type: string; dataHex?: string; code?: number; limit?: string }
  error?: 'protocol-error'
  mentions?: string
}

const vectors = readVectors<FrameVector>('frames.json')

function encodingOf(vector: FrameVector): Uint8Array {
  const head = fromHex(vector.hex)
  const fill = vector.fillCount ?? 0
  const bytes = new Uint8Array(head.length + fill)
  bytes.set(head)
  bytes.fill(Number.parseInt(vector.fillByte ?? '00', 16), head.length)
  return bytes
}

/** What decodeFrame should return: u64 limits capped at Number.MAX_SAFE_INTEGER. */
function expectedFrame(vector: FrameVector, encoding: Uint8Array): { frame: StreamFrame; exact: boolean } {
  const spec = vector.frame
  assert.ok(spec, vector.description)
  switch (spec.type) {
    case 'data': {
      const data = encoding.subarray(1)
      // The literal part of the payload must agree with the vector's dataHex.
      assert.equal(toHex(data.subarray(0, (spec.dataHex ?? '').length / 2)), spec.dataHex)
      return { frame: { type: 'data', data }, exact: true }
    }
    case 'fin':
      return { frame: { type: 'fin' }, exact: true }
    case 'reset':
    case 'stop-sending':
      return { frame: { type: spec.type, code: spec.code as number }, exact: true }
    case 'max-stream-data': {
      const wire = BigInt(spec.limit as string)
      const exact = wire <= BigInt(Number.MAX_SAFE_INTEGER)
      return { frame: { type: 'max-stream-data', limit: exact ? Number(wire) : Number.MAX_SAFE_INTEGER }, exact }
    }
    default:
      throw new Error(`vector ${vector.description} has unknown type ${spec.type}`)
  }
}

describe('frame vectors', () => {
  for (const vector of vectors) {
    it(vector.description, () => {
      const encoding = encodingOf(vector)
      if (vector.error !== undefined) {
        assertKeypinError(() => decodeFrame(encoding), vector.error, vector.mentions ?? '')
        return
      }
      const { frame, exact } = expectedFrame(vector, encoding)
      assert.deepEqual(decodeFrame(encoding), frame)
      // Capped limits cannot reproduce the original bytes; every other frame must.
      if (exact) assert.deepEqual(encodeFrame(frame), encoding)
    })
  }

  it('cover every frame type, valid and invalid', () => {
    const valid = new Set(vectors.filter((v) => v.frame).map((v) => v.frame?.type))
    assert.deepEqual([...valid].sort(), Object.keys(FRAME_TYPES).sort())
    assert.ok(vectors.filter((v) => v.error).length >= 10)
  })
})

describe('encodeFrame', () => {
  it('round-trips every type through decodeFrame', () => {
    const frames: StreamFrame[] = [
      { type: 'data', data: Uint8Array.of(1, 2, 3) },
      { type: 'data', data: new Uint8Array(MAX_DATA_PAYLOAD).fill(7) },
      { type: 'fin' },
      { type: 'reset', code: 0 },
      { type: 'reset', code: 0xffff_ffff },
      { type: 'stop-sending', code: 11 },
      { type: 'max-stream-data', limit: 0 },
      { type: 'max-stream-data', limit: Number.MAX_SAFE_INTEGER },
    ]
    for (const frame of frames) assert.deepEqual(decodeFrame(encodeFrame(frame)), frame)
  })

  it('encodes a payload view without its surrounding bytes', () => {
    const backing = Uint8Array.of(9, 9, 1, 2, 9)
    assert.deepEqual(encodeFrame({ type: 'data', data: backing.subarray(2, 4) }), Uint8Array.of(0, 1, 2))
  })

  it('rejects an empty or oversize DATA payload', () => {
    assertKeypinError(() => encodeFrame({ type: 'data', data: new Uint8Array(0) }), 'invalid-argument', 'empty')
    assertKeypinError(
      () => encodeFrame({ type: 'data', data: new Uint8Array(MAX_DATA_PAYLOAD + 1) }),
      'invalid-argument',
      '16384 bytes',
      'encodeDataFrames',
    )
    assertKeypinError(() => encodeFrame({ type: 'data', data: [1] as unknown as Uint8Array }), 'invalid-argument', 'Uint8Array')
  })

  it('rejects codes that are not u32', () => {
    for (const code of [-1, 2 ** 32, 1.5, Number.NaN, '3' as unknown as number]) {
      assertKeypinError(() => encodeFrame({ type: 'reset', code }), 'invalid-argument', 'u32')
      assertKeypinError(() => encodeFrame({ type: 'stop-sending', code }), 'invalid-argument', 'u32')
    }
  })

  it('rejects limits that are not exact non-negative integers', () => {
    for (const limit of [-1, 0.5, 2 ** 53, Number.POSITIVE_INFINITY, 10n as unknown as number]) {
      assertKeypinError(() => encodeFrame({ type: 'max-stream-data', limit }), 'invalid-argument', 'limit')
    }
  })

  it('rejects unknown frame types and non-objects', () => {
    assertKeypinError(() => encodeFrame({ type: 'ping' } as unknown as StreamFrame), 'invalid-argument', 'ping')
    assertKeypinError(() => encodeFrame(null as unknown as StreamFrame), 'invalid-argument', 'null')
  })
})

describe('decodeFrame', () => {
  it('returns DATA as a view into the message', () => {
    const message = Uint8Array.of(0, 5, 6)
    const frame = decodeFrame(message)
    assert.equal(frame.type, 'data')
    if (frame.type === 'data') {
      assert.equal(frame.data.buffer, message.buffer)
      assert.equal(frame.data.byteOffset, 1)
    }
  })

  it('accepts a message that is itself a view into a larger buffer', () => {
    const backing = Uint8Array.of(0xee, 0x02, 0, 0, 0, 6, 0xee)
    assert.deepEqual(decodeFrame(backing.subarray(1, 6)), { type: 'reset', code: 6 })
  })

  it('rejects a non-Uint8Array with invalid-argument', () => {
    assertKeypinError(() => decodeFrame(new ArrayBuffer(2) as unknown as Uint8Array), 'invalid-argument', 'Uint8Array')
  })
})

describe('encodeDataFrames', () => {
  const sizes = [0, 1, MAX_DATA_PAYLOAD - 1, MAX_DATA_PAYLOAD, MAX_DATA_PAYLOAD + 1, 3 * MAX_DATA_PAYLOAD, 100_000]

  for (const size of sizes) {
    it(`splits ${size} bytes into frames that reassemble exactly`, () => {
      // A position-dependent pattern, so a frame boundary in the wrong place shows.
      const chunk = new Uint8Array(size).map((_, index) => (index * 31 + (index >> 8)) & 0xff)
      const frames = encodeDataFrames(chunk)
      assert.equal(frames.length, Math.ceil(size / MAX_DATA_PAYLOAD))
      const parts: Uint8Array[] = []
      for (const [index, frame] of frames.entries()) {
        assert.ok(frame.length <= MAX_FRAME_SIZE)
        if (index < frames.length - 1) assert.equal(frame.length, MAX_FRAME_SIZE, 'only the last frame may be short')
        const decoded = decodeFrame(frame)
        assert.equal(decoded.type, 'data')
        if (decoded.type === 'data') parts.push(decoded.data)
      }
      assert.deepEqual(Buffer.concat(parts), Buffer.from(chunk))
    })
  }

  it('gives each frame its own buffer, so sending one never exposes another', () => {
    const frames = encodeDataFrames(new Uint8Array(2 * MAX_DATA_PAYLOAD))
    assert.notEqual(frames[0]?.buffer, frames[1]?.buffer)
  })

  it('rejects a non-Uint8Array', () => {
    assertKeypinError(() => encodeDataFrames('abc' as unknown as Uint8Array), 'invalid-argument', 'Uint8Array')
  })
})

describe('hostile frames', () => {
  it('every truncation of a fixed-size frame is a protocol-error', () => {
    for (const frame of [
      encodeFrame({ type: 'reset', code: 3 }),
      encodeFrame({ type: 'stop-sending', code: 1 }),
      encodeFrame({ type: 'max-stream-data', limit: 1 << 20 }),
    ]) {
      for (let length = 0; length < frame.length; length++) {
        assertKeypinError(() => decodeFrame(frame.subarray(0, length)), 'protocol-error')
      }
      const longer = new Uint8Array(frame.length + 1)
      longer.set(frame)
      assertKeypinError(() => decodeFrame(longer), 'protocol-error', 'payload')
    }
  })

  it('every truncation of a DATA frame is a shorter DATA frame, down to the empty-DATA error', () => {
    const frame = encodeFrame({ type: 'data', data: Uint8Array.of(1, 2, 3, 4) })
    assertKeypinError(() => decodeFrame(frame.subarray(0, 0)), 'protocol-error', 'empty')
    assertKeypinError(() => decodeFrame(frame.subarray(0, 1)), 'protocol-error', 'empty DATA')
    for (let length = 2; length <= frame.length; length++) {
      assert.deepEqual(decodeFrame(frame.subarray(0, length)), { type: 'data', data: frame.subarray(1, length) })
    }
  })

  it('rejects every unknown type byte', () => {
    for (let type = 0x05; type <= 0xff; type++) {
      assertKeypinError(() => decodeFrame(Uint8Array.of(type, 0, 0, 0, 0)), 'protocol-error', 'unknown')
    }
  })

  it('10,000 random messages only ever raise protocol-error', () => {
    const random = seeded(0x6b657970)
    let decoded = 0
    for (let i = 0; i < 10_000; i++) {
      // Mostly short messages with a plausible type byte, so every branch is
      // reached; every 50th is large to exercise the size limit.
      const length = i % 50 === 0 ? MAX_FRAME_SIZE - 2 + Math.floor(random() * 4) : Math.floor(random() * 12)
      const bytes = new Uint8Array(length)
      for (let j = 0; j < Math.min(length, 16); j++) bytes[j] = Math.floor(random() * 256)
      if (length > 0 && random() < 0.8) bytes[0] = Math.floor(random() * 6)
      try {
        decodeFrame(bytes)
        decoded++
      } catch (error) {
        assert.ok(error instanceof KeypinError, `non-KeypinError for ${toHex(bytes.subarray(0, 16))}: ${String(error)}`)
        assert.equal(error.code, 'protocol-error', error.message)
      }
    }
    assert.ok(decoded > 100, `only ${decoded} random messages decoded; the fuzzer is not reaching valid frames`)
  })
})
