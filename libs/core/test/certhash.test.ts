/**
 * Certhash and fingerprint tests: the known-answer vectors (computed with an
 * independent implementation) plus round trips and rejection of every
 * malformed certhash shape.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  CERTHASH_DIGEST_LENGTH,
  certhashFromDigest,
  certhashOfCertificate,
  digestFromCerthash,
  digestFromFingerprint,
  digestsEqual,
  fingerprintFromDigest,
  sha256,
} from '@keypin/core'
import { assertKeypinError, fromHex, readVectors, toHex } from './support.js'

interface CerthashVector {
  description: string
  certificateDerHex: string
  digestHex: string
  certhash: string
  fingerprint: string
}

const vectors = readVectors<CerthashVector>('certhash.json')
const sample = vectors[1] as CerthashVector
const sampleDigest = fromHex(sample.digestHex)

/** Encodes a multihash as a `u` certhash without going through the library. */
function rawCerthash(bytes: number[]): string {
  return 'u' + Buffer.from(bytes).toString('base64url')
}

describe('certhash vectors', () => {
  for (const vector of vectors) {
    it(vector.description, () => {
      const der = fromHex(vector.certificateDerHex)
      assert.equal(toHex(sha256(der)), vector.digestHex)
      assert.equal(certhashOfCertificate(der), vector.certhash)
      assert.equal(certhashFromDigest(fromHex(vector.digestHex)), vector.certhash)
      assert.equal(toHex(digestFromCerthash(vector.certhash)), vector.digestHex)
      assert.equal(fingerprintFromDigest(fromHex(vector.digestHex)), vector.fingerprint)
      assert.equal(toHex(digestFromFingerprint(vector.fingerprint)), vector.digestHex)
    })
  }
  it('includes the empty input', () => {
    assert.ok(vectors.some((v) => v.certificateDerHex === ''))
  })
})

describe('certhash encoding', () => {
  it('is "u" plus 46 base64url characters', () => {
    assert.equal(CERTHASH_DIGEST_LENGTH, 32)
    for (const vector of vectors) assert.match(vector.certhash, /^uEi[A-Za-z0-9_-]{44}$/)
  })

  it('round-trips any 32-byte digest', () => {
    for (let i = 0; i < 64; i++) {
      const digest = crypto.getRandomValues(new Uint8Array(32))
      assert.deepEqual(digestFromCerthash(certhashFromDigest(digest)), digest)
    }
  })

  it('returns a digest the caller owns', () => {
    const a = digestFromCerthash(sample.certhash)
    a.fill(0)
    assert.deepEqual(digestFromCerthash(sample.certhash), sampleDigest)
  })

  it('rejects digests that are not 32 bytes', () => {
    assertKeypinError(() => certhashFromDigest(new Uint8Array(31)), 'invalid-argument', '32 bytes', 'got 31')
    assertKeypinError(() => certhashFromDigest(new Uint8Array(33)), 'invalid-argument', 'got 33')
    assertKeypinError(() => certhashFromDigest('abc' as unknown as Uint8Array), 'invalid-argument', 'Uint8Array')
  })

  it('rejects non-bytes input to sha256 and certhashOfCertificate', () => {
    assertKeypinError(() => sha256([1, 2] as unknown as Uint8Array), 'invalid-argument', 'Uint8Array', 'array')
    assertKeypinError(() => certhashOfCertificate(null as unknown as Uint8Array), 'invalid-argument', 'null')
  })
})

describe('digestFromCerthash rejects', () => {
  const body = sample.certhash.slice(1)
  const cases: Array<[string, string, string[]]> = [
    ['an empty string', '', ['empty']],
    ['the "m" (base64) prefix', 'm' + body, ['prefix "m"', 'expected "u"']],
    ['the "U" (padded base64url) prefix', 'U' + body, ['prefix "U"']],
    ['a missing prefix', body, ['prefix "E"']],
    ['a prefix with nothing after it', 'u', ['nothing after its prefix']],
    ['"=" padding', sample.certhash + '=', ['padding "="', 'index 47']],
    ['a standard-base64 "/"', 'u' + body.slice(0, 5) + '/' + body.slice(6), ['"/"', 'index 6']],
    ['whitespace', sample.certhash + ' ', ['" "']],
    ['an impossible base64 length', sample.certhash + 'AAA', ['not canonical base64url', 'whole number of bytes']],
    ['non-zero unused bits', sample.certhash.slice(0, -1) + 'R', ['non-zero unused bits']],
    ['a truncated digest', rawCerthash([0x12, 0x20, ...sampleDigest.subarray(0, 30)]), ['truncated', 'declares a 32-byte digest but carries 30']],
    ['trailing bytes', rawCerthash([0x12, 0x20, ...sampleDigest, 0]), ['too long', 'carries 33']],
    ['a sha1 multihash', rawCerthash([0x11, 0x14, ...new Uint8Array(20)]), ['0x11', 'sha2-256 (0x12)']],
    ['a sha2-512 multihash', rawCerthash([0x13, 0x40, ...new Uint8Array(64)]), ['0x13']],
    ['an identity multihash', rawCerthash([0x00, 0x20, ...sampleDigest]), ['0x0']],
    ['a 16-byte sha2-256 digest', rawCerthash([0x12, 0x10, ...sampleDigest.subarray(0, 16)]), ['16-byte', 'expected 32']],
    ['a non-minimal varint code', rawCerthash([0x92, 0x00, 0x20, ...sampleDigest]), ['malformed']],
  ]
  for (const [what, certhash, fragments] of cases) {
    it(what, () => {
      assertKeypinError(() => digestFromCerthash(certhash), 'invalid-certhash', ...fragments)
    })
  }
  it('a non-string', () => {
    assertKeypinError(() => digestFromCerthash(42 as unknown as string), 'invalid-certhash', 'number 42')
  })
})

describe('fingerprints', () => {
  it('are 32 upper-case hex pairs', () => {
    assert.match(fingerprintFromDigest(sampleDigest), /^[0-9A-F]{2}(:[0-9A-F]{2}){31}$/)
  })

  it('parse in lower case too', () => {
    assert.deepEqual(digestFromFingerprint(sample.fingerprint.toLowerCase()), sampleDigest)
  })

  it('round-trip random digests', () => {
    for (let i = 0; i < 64; i++) {
      const digest = crypto.getRandomValues(new Uint8Array(32))
      assert.deepEqual(digestFromFingerprint(fingerprintFromDigest(digest)), digest)
    }
  })

  it('reject digests that are not 32 bytes', () => {
    assertKeypinError(() => fingerprintFromDigest(new Uint8Array(20)), 'invalid-argument', 'got 20')
  })

  it('reject malformed text', () => {
    const fp = sample.fingerprint
    assertKeypinError(() => digestFromFingerprint(fp.slice(0, -3)), 'invalid-argument', '31', 'has 32')
    assertKeypinError(() => digestFromFingerprint(fp + ':00'), 'invalid-argument', '33')
    assertKeypinError(() => digestFromFingerprint(fp.replace(':', '')), 'invalid-argument', 'pairs')
    assertKeypinError(() => digestFromFingerprint('ZZ' + fp.slice(2)), 'invalid-argument', '"ZZ"', 'pair 0')
    assertKeypinError(() => digestFromFingerprint(fp.slice(0, -1) + 'G'), 'invalid-argument', 'pair 31')
    assertKeypinError(() => digestFromFingerprint(`sha-256 ${fp}`), 'invalid-argument', 'pair 0')
    assertKeypinError(() => digestFromFingerprint(''), 'invalid-argument', 'has 1')
    assertKeypinError(() => digestFromFingerprint(7 as unknown as string), 'invalid-argument', 'number 7')
  })
})

describe('digestsEqual', () => {
  it('compares contents, not identity', () => {
    assert.equal(digestsEqual(sampleDigest, sampleDigest.slice()), true)
    assert.equal(digestsEqual(new Uint8Array(0), new Uint8Array(0)), true)
  })

  it('detects a difference in any byte', () => {
    for (let i = 0; i < 32; i++) {
      const other = sampleDigest.slice()
      other[i] = (other[i] as number) ^ 0x01
      assert.equal(digestsEqual(sampleDigest, other), false, `byte ${i}`)
    }
  })

  it('returns false for different lengths', () => {
    assert.equal(digestsEqual(sampleDigest, sampleDigest.subarray(0, 31)), false)
  })

  it('rejects non-bytes', () => {
    assertKeypinError(() => digestsEqual(sampleDigest, 'x' as unknown as Uint8Array), 'invalid-argument', 'b must be')
  })
})
