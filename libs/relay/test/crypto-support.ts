/**
 * Shared helpers for the relay crypto tests: vectors, hex, error assertions,
 * a seeded PRNG and ready-made parties. Not a test file itself. Tests import
 * the built module from ../dist/crypto/ (the path works from test/ for the
 * compiler and from dist-test/ at run time).
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import {
  RelayCryptoError,
  generateIdentity,
  generatePrekey,
  userIdOf,
  type IdentityKeyPair,
  type PrekeyPair,
  type RelayCryptoErrorCode,
} from '../dist/crypto/index.js'

export { bytesToHex as toHex, hexToBytes as fromHex }

/** Reads test/vectors/<name>; compiled tests run from dist-test/, next to test/. */
export function readVectors<T>(name: string): T[] {
  const parsed: unknown = JSON.parse(readFileSync(new URL(`../test/vectors/${name}`, import.meta.url), 'utf8'))
  assert.ok(Array.isArray(parsed) && parsed.length > 0, `${name} must hold a non-empty JSON array`)
  return parsed as T[]
}

/** Asserts `fn` throws a RelayCryptoError with `code` whose message mentions each fragment. */
export function assertRelayError(fn: () => unknown, code: RelayCryptoErrorCode, ...fragments: string[]): RelayCryptoError {
  let caught: unknown
  try {
    fn()
  } catch (error) {
    caught = error
  }
  assert.ok(caught instanceof RelayCryptoError, `expected a RelayCryptoError(${code}), got ${String(caught)}`)
  assert.equal(caught.name, 'RelayCryptoError')
  assert.equal(caught.code, code, `wrong code for: ${caught.message}`)
  for (const fragment of fragments) {
    assert.ok(caught.message.includes(fragment), `message ${JSON.stringify(caught.message)} should mention ${JSON.stringify(fragment)}`)
  }
  return caught
}

/** The code of the RelayCryptoError `fn` throws, or 'none'; anything else thrown fails the test. */
export function errorCodeOf(fn: () => unknown): RelayCryptoErrorCode | 'none' {
  try {
    fn()
    return 'none'
  } catch (error) {
    assert.ok(error instanceof RelayCryptoError, `expected only RelayCryptoError, got ${String(error)}`)
    return error.code
  }
}

/** Small seeded PRNG (mulberry32), so a failing fuzz case can be reproduced. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}

/** `length` bytes from a seeded PRNG. */
export function seededBytes(next: () => number, length: number): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = Math.floor(next() * 256)
  return out
}

/** A random source that hands out the given bytes in order and fails if asked for more. */
export function fixedRandom(hex: string): (length: number) => Uint8Array {
  let rest = hexToBytes(hex)
  return (length) => {
    assert.ok(length <= rest.length, `fixed random source exhausted: asked for ${length}, ${rest.length} left`)
    const out = rest.slice(0, length)
    rest = rest.slice(length)
    return out
  }
}

export interface Party {
  readonly identity: IdentityKeyPair
  readonly userId: string
  readonly prekeys: Map<number, PrekeyPair>
  /** The `prekeySecret` callback openMessage wants. */
  readonly prekeySecret: (id: number) => Uint8Array | undefined
}

/** A fresh user holding prekeys with the given ids. */
export function makeParty(...prekeyIds: number[]): Party {
  const identity = generateIdentity()
  const prekeys = new Map(prekeyIds.map((id) => [id, generatePrekey(identity, id)] as const))
  return { identity, userId: userIdOf(identity.publicKey), prekeys, prekeySecret: (id) => prekeys.get(id)?.secretKey }
}

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

/** A copy of `bytes` with one bit flipped. */
export function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice()
  out[bit >> 3] = (out[bit >> 3] as number) ^ (1 << (bit & 7))
  return out
}
