/**
 * ICE credential tests: password vectors from an independent HMAC
 * implementation, validator bounds and characters, and random ufrags.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { ICE_PWD_LABEL, deriveIcePassword, isValidIcePwd, isValidIceUfrag, randomIceUfrag } from '@keypin/core'
import { assertKeypinError, fromHex, readVectors } from './support.js'

interface IceVector {
  description: string
  digestHex: string
  ufrag: string
  password: string
}

const vectors = readVectors<IceVector>('ice-password.json')
const digest = fromHex((vectors[0] as IceVector).digestHex)

describe('ICE password vectors', () => {
  for (const vector of vectors) {
    it(vector.description, () => {
      const password = deriveIcePassword(fromHex(vector.digestHex), vector.ufrag)
      assert.equal(password, vector.password)
      assert.equal(isValidIcePwd(password), true)
    })
  }

  it('include a ufrag with "+" and "/"', () => {
    assert.ok(vectors.some((v) => v.ufrag.includes('+') && v.ufrag.includes('/')))
  })
})

describe('deriveIcePassword', () => {
  it('uses the versioned label', () => {
    assert.equal(ICE_PWD_LABEL, 'kps-ice-pwd-v1:')
  })

  it('is 43 unpadded base64 characters', () => {
    assert.match(deriveIcePassword(digest, 'abcd'), /^[A-Za-z0-9+/]{43}$/)
  })

  it('depends on both the digest and the ufrag', () => {
    const other = digest.slice()
    other[31] = (other[31] as number) ^ 1
    assert.notEqual(deriveIcePassword(digest, 'abcd'), deriveIcePassword(other, 'abcd'))
    assert.notEqual(deriveIcePassword(digest, 'abcd'), deriveIcePassword(digest, 'abce'))
  })

  it('rejects a digest that is not 32 bytes', () => {
    assertKeypinError(() => deriveIcePassword(new Uint8Array(31), 'abcd'), 'invalid-argument', '32 bytes', 'got 31')
    assertKeypinError(() => deriveIcePassword('x' as unknown as Uint8Array, 'abcd'), 'invalid-argument', 'Uint8Array')
  })

  it('rejects an invalid ufrag', () => {
    for (const ufrag of ['abc', 'ab-cd', 'a'.repeat(257), 'ab:cd']) {
      assertKeypinError(() => deriveIcePassword(digest, ufrag), 'invalid-argument', 'ufrag', '4-256')
    }
    assertKeypinError(() => deriveIcePassword(digest, 5 as unknown as string), 'invalid-argument', 'number 5')
  })
})

describe('ICE validators', () => {
  const ufragBounds: Array<[string, boolean]> = [
    ['abc', false],
    ['abcd', true],
    ['a'.repeat(256), true],
    ['a'.repeat(257), false],
  ]
  const pwdBounds: Array<[string, boolean]> = [
    ['a'.repeat(21), false],
    ['a'.repeat(22), true],
    ['a'.repeat(256), true],
    ['a'.repeat(257), false],
  ]
  // Characters outside ice-char, each placed inside an otherwise valid value.
  const foreign = ['-', '_', ' ', '=', ':', '.', '\n', '\t', 'é', 'ü', '\u0000', '😀', '\uff21']

  it('ufrag length bounds 4-256', () => {
    for (const [value, ok] of ufragBounds) assert.equal(isValidIceUfrag(value), ok, `${value.length} chars`)
  })

  it('pwd length bounds 22-256', () => {
    for (const [value, ok] of pwdBounds) assert.equal(isValidIcePwd(value), ok, `${value.length} chars`)
  })

  it('accept every ice-char', () => {
    const all = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
    assert.equal(isValidIceUfrag(all), true)
    assert.equal(isValidIcePwd(all), true)
    assert.equal(isValidIceUfrag('++//'), true)
  })

  it('reject characters outside ice-char', () => {
    for (const char of foreign) {
      assert.equal(isValidIceUfrag(`abcd${char}efgh`), false, JSON.stringify(char))
      assert.equal(isValidIcePwd(`${'a'.repeat(22)}${char}`), false, JSON.stringify(char))
    }
    // A trailing newline must not slip past the end anchor.
    assert.equal(isValidIceUfrag('abcd\n'), false)
  })

  it('reject non-strings', () => {
    assert.equal(isValidIceUfrag(1234 as unknown as string), false)
    assert.equal(isValidIcePwd(undefined as unknown as string), false)
  })
})

describe('randomIceUfrag', () => {
  it('is a valid 12-character ufrag', () => {
    for (let i = 0; i < 200; i++) {
      const ufrag = randomIceUfrag()
      assert.equal(ufrag.length, 12)
      assert.equal(isValidIceUfrag(ufrag), true, ufrag)
    }
  })

  it('differs across calls', () => {
    const seen = new Set<string>()
    for (let i = 0; i < 1000; i++) seen.add(randomIceUfrag())
    assert.equal(seen.size, 1000)
  })

  it('uses the whole alphabet, including "+" and "/"', () => {
    const chars = new Set<string>()
    for (let i = 0; i < 2000; i++) for (const char of randomIceUfrag()) chars.add(char)
    assert.equal(chars.size, 64)
  })
})
