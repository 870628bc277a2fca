/**
 * Shared helpers for the core tests: loading the known-answer vectors in
 * tests/vectors and asserting on KeypinError. Not a test file itself.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { KeypinError, type ErrorCode } from '@keypin/core'

/**
 * Reads tests/vectors/<name>. The path is relative to the compiled file in
 * libs/core/dist-test/, three levels below the repository root.
 */
export function readVectors<T>(name: string): T[] {
  const parsed: unknown = JSON.parse(readFileSync(new URL(`../../../tests/vectors/${name}`, import.meta.url), 'utf8'))
  assert.ok(Array.isArray(parsed), `${name} must hold a JSON array`)
  assert.ok(parsed.length > 0, `${name} must not be empty`)
  return parsed as T[]
}

export function fromHex(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'))
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

/** Asserts `fn` throws a KeypinError with `code` whose message contains each of `fragments`. */
export function assertKeypinError(fn: () => unknown, code: ErrorCode, ...fragments: string[]): KeypinError {
  let caught: unknown
  try {
    fn()
  } catch (error) {
    caught = error
  }
  assert.ok(caught instanceof KeypinError, `expected a KeypinError, got ${String(caught)}`)
  assert.equal(caught.code, code, `wrong code for: ${caught.message}`)
  assert.equal(caught.name, 'KeypinError')
  for (const fragment of fragments) {
    assert.ok(caught.message.includes(fragment), `message ${JSON.stringify(caught.message)} should mention ${JSON.stringify(fragment)}`)
  }
  return caught
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
