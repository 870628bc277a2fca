/**
 * Audits the shared known-answer vectors against the wire tables themselves,
 * not against the encoder: every frame type and control message the protocol
 * defines (transcribed below from the wire documents, byte by byte) must have
 * a valid vector of exactly its size, a too-short and a too-long vector, and,
 * for u64 fields, vectors on both sides of 2^62-1. The library's type
 * constants must agree with the same tables. Also checks the error-code
 * vectors (tests/vectors/error-codes.json) against the registry functions.
 *
 * A vector file that loses a case, or a protocol table that gains a type
 * without vectors, fails here.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  CONTROL_TYPES,
  FRAME_TYPES,
  KeypinError,
  WIRE_ERROR_CODES,
  decodeControl,
  decodeFrame,
  errorCodeFromWire,
  errorCodeToWire,
} from '@keypin/core'
import { fromHex, readVectors } from './support.js'

interface WireVector {
  description: string
  hex: string
  fillCount?: number
  frame?: { type: string }
  message?: { type: string }
  error?: string
}

interface Layout {
  name: string
  /** Payload length after the type byte; undefined for DATA (1..16383). */
  payload?: number
  /** Byte offsets (type byte included) of u64 fields, which are limited to 2^62-1. */
  u64At?: number[]
}

// Stream frames (one per data-channel message), as the protocol tables list them.
const FRAME_LAYOUT = new Map<number, Layout>([
  [0x00, { name: 'data' }],
  [0x01, { name: 'fin', payload: 0 }],
  [0x02, { name: 'reset', payload: 4 }],
  [0x03, { name: 'stop-sending', payload: 4 }],
  [0x04, { name: 'max-stream-data', payload: 8, u64At: [1] }],
])

// Control messages (channel 0, wire version 1).
const CONTROL_LAYOUT = new Map<number, Layout>([
  [0x00, { name: 'connection-close', payload: 4 }],
  [0x01, { name: 'hello', payload: 1 + 3 * 8, u64At: [2, 10, 18] }],
  [0x02, { name: 'max-data', payload: 8, u64At: [1] }],
  [0x03, { name: 'max-streams', payload: 8, u64At: [1] }],
])

const MAX_VARINT = (1n << 62n) - 1n
const frames = readVectors<WireVector>('frames.json')
const control = readVectors<WireVector>('control.json')

/** The vector's bytes' length, fill included. */
const lengthOf = (v: WireVector): number => v.hex.length / 2 + (v.fillCount ?? 0)
const typeOf = (v: WireVector): number | undefined => (v.hex.length >= 2 ? Number.parseInt(v.hex.slice(0, 2), 16) : undefined)

function auditTable(what: string, vectors: WireVector[], layout: Map<number, Layout>, decodedType: (v: WireVector) => string | undefined): void {
  describe(`${what} vectors cover the protocol table`, () => {
    for (const [type, { name, payload, u64At }] of layout) {
      const hex = `0x${type.toString(16).padStart(2, '0')}`
      const valid = vectors.filter((v) => v.error === undefined && typeOf(v) === type)
      const invalid = vectors.filter((v) => v.error !== undefined && typeOf(v) === type)

      it(`${hex} ${name}: valid vectors decode to ${name}`, () => {
        assert.ok(valid.length > 0, `no valid vector starts with ${hex}`)
        for (const v of valid) assert.equal(decodedType(v), name, v.description)
      })

      if (payload === undefined) {
        it(`${hex} ${name}: vectors at 1 and 16383 payload bytes, errors at 0 and 16384`, () => {
          const lengths = new Set(valid.map(lengthOf))
          assert.ok(lengths.has(2) && lengths.has(16384), `valid lengths ${[...lengths].join(', ')}`)
          const bad = new Set(invalid.map(lengthOf))
          assert.ok(bad.has(1) && bad.has(16385), `invalid lengths ${[...bad].join(', ')}`)
        })
        continue
      }

      it(`${hex} ${name}: every valid vector is 1 + ${payload} bytes`, () => {
        for (const v of valid) assert.equal(lengthOf(v), 1 + payload, v.description)
      })

      it(`${hex} ${name}: errors for a payload too short and too long`, () => {
        assert.ok(invalid.some((v) => lengthOf(v) < 1 + payload) || payload === 0, `${name} lacks a too-short vector`)
        assert.ok(invalid.some((v) => lengthOf(v) > 1 + payload), `${name} lacks a too-long vector`)
        for (const v of invalid) assert.equal(v.error === 'protocol-error' || v.error === 'unsupported', true, v.description)
      })

      if (u64At) {
        it(`${hex} ${name}: 2^62-1 is valid and 2^62 or more is not, in every u64 field`, () => {
          const fieldsOf = (v: WireVector): bigint[] => u64At.map((at) => BigInt(`0x${v.hex.slice(2 * at, 2 * at + 16)}`))
          const sized = (list: WireVector[]): WireVector[] => list.filter((v) => lengthOf(v) === 1 + payload)
          for (const [index, at] of u64At.entries()) {
            assert.ok(sized(valid).some((v) => fieldsOf(v)[index] === MAX_VARINT), `${name} lacks 2^62-1 at byte ${at}`)
            assert.ok(
              sized(invalid).some((v) => (fieldsOf(v)[index] as bigint) > MAX_VARINT && fieldsOf(v).every((x, i) => i === index || x <= MAX_VARINT)),
              `${name} lacks a vector with only the field at byte ${at} above 2^62-1`,
            )
          }
        })
      }
    }

    it('every type byte outside the table is an error', () => {
      const unknown = vectors.filter((v) => {
        const type = typeOf(v)
        return type !== undefined && !layout.has(type)
      })
      assert.ok(unknown.length > 0, 'no vector with an unknown type byte')
      for (const v of unknown) assert.equal(v.error, 'protocol-error', v.description)
    })

    it('the empty message is an error', () => {
      assert.ok(vectors.some((v) => v.hex === '' && !v.fillCount && v.error === 'protocol-error'))
    })
  })
}

auditTable('frame', frames, FRAME_LAYOUT, (v) => decodeFrame(bytesOf(v)).type)
auditTable('control', control, CONTROL_LAYOUT, (v) => decodeControl(fromHex(v.hex)).type)

function bytesOf(v: WireVector): Uint8Array {
  const head = fromHex(v.hex)
  const bytes = new Uint8Array(head.length + (v.fillCount ?? 0))
  bytes.set(head)
  bytes.fill(0xa5, head.length)
  return bytes
}

describe('type constants agree with the protocol tables', () => {
  it('FRAME_TYPES', () => {
    assert.deepEqual(
      Object.entries(FRAME_TYPES).sort(([, a], [, b]) => a - b),
      [...FRAME_LAYOUT].map(([type, { name }]) => [name, type]),
    )
  })

  it('CONTROL_TYPES', () => {
    assert.deepEqual(
      Object.entries(CONTROL_TYPES).sort(([, a], [, b]) => a - b),
      [...CONTROL_LAYOUT].map(([type, { name }]) => [name, type]),
    )
  })

  it('HELLO carries wire version 1 in its first payload byte', () => {
    for (const v of control.filter((c) => c.message?.type === 'hello')) assert.equal(v.hex.slice(2, 4), '01', v.description)
  })
})

interface ErrorCodeVector {
  description: string
  code: number
  name: string
  unknown?: boolean
}

describe('error-code vectors', () => {
  const vectors = readVectors<ErrorCodeVector>('error-codes.json')
  const registry = vectors.filter((v) => !v.unknown)

  it('list the twelve registry codes 0-11 in order', () => {
    assert.deepEqual(registry.map((v) => v.code), Array.from({ length: 12 }, (_, i) => i))
    assert.deepEqual(Object.entries(WIRE_ERROR_CODES), registry.map((v) => [v.name, v.code]))
  })

  for (const vector of vectors) {
    it(vector.description, () => {
      assert.equal(errorCodeFromWire(vector.code), vector.name)
      const error = KeypinError.fromWire(vector.code, 'from the peer')
      assert.equal(error.code, vector.name)
      assert.equal(error.wireCode, vector.code, 'the number itself stays available')
      if (!vector.unknown) assert.equal(errorCodeToWire(vector.name as keyof typeof WIRE_ERROR_CODES), vector.code)
      else assert.equal(errorCodeToWire(vector.code), vector.code, 'raw codes pass through unchanged')
    })
  }
})
