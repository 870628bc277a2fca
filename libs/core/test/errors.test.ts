/**
 * Error vocabulary tests: wire code mapping in both directions and the
 * KeypinError shape other packages rely on.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  KeypinError,
  LOCAL_ERROR_CODES,
  WIRE_ERROR_CODES,
  errorCodeFromWire,
  errorCodeToWire,
  reasonToWire,
  type WireErrorCode,
} from '@keypin/core'
import { assertKeypinError } from './support.js'

const wireNames = Object.keys(WIRE_ERROR_CODES) as WireErrorCode[]

describe('wire error codes', () => {
  it('has 12 codes numbered 0-11', () => {
    assert.equal(wireNames.length, 12)
    assert.deepEqual(
      wireNames.map((name) => WIRE_ERROR_CODES[name]).sort((a, b) => a - b),
      Array.from({ length: 12 }, (_, i) => i),
    )
  })

  it('round-trips every code through the wire', () => {
    for (const name of wireNames) {
      const wire = errorCodeToWire(name)
      assert.equal(wire, WIRE_ERROR_CODES[name])
      assert.equal(errorCodeFromWire(wire), name)
    }
  })

  it('maps unknown wire values to internal-error', () => {
    for (const value of [12, 255, 0xffff_ffff, -1, 1.5, Number.NaN]) {
      assert.equal(errorCodeFromWire(value), 'internal-error', String(value))
    }
  })

  it('sends local codes as internal-error', () => {
    for (const name of LOCAL_ERROR_CODES) assert.equal(errorCodeToWire(name), WIRE_ERROR_CODES['internal-error'])
  })

  it('passes raw u32 values through', () => {
    assert.equal(errorCodeToWire(0), 0)
    assert.equal(errorCodeToWire(0x1234), 0x1234)
    assert.equal(errorCodeToWire(0xffff_ffff), 0xffff_ffff)
  })

  it('rejects values that are not u32 and unknown names', () => {
    assertKeypinError(() => errorCodeToWire(-1), 'invalid-argument', 'u32', '-1')
    assertKeypinError(() => errorCodeToWire(2 ** 32), 'invalid-argument', 'u32', String(2 ** 32))
    assertKeypinError(() => errorCodeToWire(1.5), 'invalid-argument', '1.5')
    assertKeypinError(() => errorCodeToWire('bogus' as WireErrorCode), 'invalid-argument', '"bogus"')
  })
})

describe('KeypinError', () => {
  it('carries code, wire code and origin', () => {
    const error = new KeypinError('invalid-address', 'bad')
    assert.ok(error instanceof Error)
    assert.equal(error.name, 'KeypinError')
    assert.equal(error.code, 'invalid-address')
    assert.equal(error.wireCode, WIRE_ERROR_CODES['internal-error'])
    assert.equal(error.remote, false)
    assert.equal(error.message, 'bad')
  })

  it('builds from a peer wire code, keeping unknown values', () => {
    const known = KeypinError.fromWire(3, 'peer reset')
    assert.equal(known.code, 'reset')
    assert.equal(known.remote, true)
    const unknown = KeypinError.fromWire(0x4242, 'app code')
    assert.equal(unknown.code, 'internal-error')
    assert.equal(unknown.wireCode, 0x4242)
  })

  it('keeps a cause', () => {
    const cause = new Error('inner')
    assert.equal(new KeypinError('timeout', 'outer', { cause }).cause, cause)
  })
})

describe('reasonToWire', () => {
  it('uses the fallback without a code and the code otherwise', () => {
    assert.deepEqual(reasonToWire(undefined, 'cancelled'), { code: 1, message: '' })
    assert.deepEqual(reasonToWire({ code: 'timeout', message: 'slow' }, 'none'), { code: 4, message: 'slow' })
    assert.deepEqual(reasonToWire({ code: 77 }, 'none'), { code: 77, message: '' })
  })
})
