/**
 * A small seeded pseudo-random generator (sfc32) for the fuzzer: the same
 * seed gives the same datagrams in the same order, so a failure seen once
 * can be replayed with `KEYPIN_FUZZ_SEED=<seed>`. Not for anything that
 * needs real randomness.
 */
export class Prng {
  #a: number
  #b: number
  #c: number
  #d: number

  constructor(readonly seed: number) {
    this.#a = 0x9e3779b9
    this.#b = 0x243f6a88
    this.#c = 0xb7e15162
    this.#d = seed >>> 0
    // Mix the seed through a few rounds so nearby seeds diverge at once.
    for (let i = 0; i < 16; i++) this.u32()
  }

  /** A uniformly distributed unsigned 32-bit integer. */
  u32(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0
    this.#d = (this.#d + 1) >>> 0
    this.#a = this.#b ^ (this.#b >>> 9)
    this.#b = (this.#c + (this.#c << 3)) >>> 0
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0
    this.#c = (this.#c + t) >>> 0
    return t
  }

  /** A float in [0, 1). */
  next(): number {
    return this.u32() / 2 ** 32
  }

  /** An integer in [min, max). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min))
  }

  chance(probability: number): boolean {
    return this.next() < probability
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length)] as T
  }

  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length)
    let i = 0
    for (; i + 4 <= length; i += 4) {
      const word = this.u32()
      out[i] = word & 0xff
      out[i + 1] = (word >>> 8) & 0xff
      out[i + 2] = (word >>> 16) & 0xff
      out[i + 3] = word >>> 24
    }
    for (; i < length; i++) out[i] = this.u32() & 0xff
    return out
  }

  /** A string of `length` characters drawn from `alphabet`. */
  string(length: number, alphabet: string): string {
    let out = ''
    for (let i = 0; i < length; i++) out += alphabet[this.int(0, alphabet.length)]
    return out
  }
}

/** A seed from the environment (decimal), or a fresh one. */
export function seedFromEnvironment(name: string): number {
  const given = process.env[name]
  if (given !== undefined && given !== '') {
    const seed = Number(given)
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new Error(`${name} must be an integer from 0 to 2^32-1, got ${given}`)
    return seed
  }
  return Math.floor(Math.random() * 2 ** 32)
}
