/**
 * Token buckets keyed by user id or IP, and the per-connection violation
 * counter. Both read time from the relay's clock; neither holds timers.
 */
import type { RateSpec } from './options.js'

interface Bucket {
  tokens: number
  at: number
}

/** One bucket per key, created full on first use. The map is pruned of full buckets. */
export class TokenBuckets {
  readonly #spec: RateSpec
  readonly #now: () => number
  readonly #buckets = new Map<string, Bucket>()
  readonly #maxKeys: number

  constructor(spec: RateSpec, now: () => number, maxKeys = 100_000) {
    this.#spec = spec
    this.#now = now
    this.#maxKeys = maxKeys
  }

  get size(): number {
    return this.#buckets.size
  }

  /**
   * Takes `cost` tokens for `key`. Returns 0 when they were available,
   * otherwise the milliseconds until they will be (nothing is taken). A cost
   * above the burst is capped at the burst, so a full bucket always pays.
   */
  take(key: string, cost = 1): number {
    const now = this.#now()
    const { perSecond, burst } = this.#spec
    const price = Math.min(cost, burst)
    let bucket = this.#buckets.get(key)
    if (!bucket) {
      if (this.#buckets.size >= this.#maxKeys) this.prune()
      bucket = { tokens: burst, at: now }
      this.#buckets.set(key, bucket)
    } else {
      const elapsed = Math.max(0, now - bucket.at)
      bucket.tokens = Math.min(burst, bucket.tokens + (elapsed * perSecond) / 1000)
      bucket.at = now
    }
    if (bucket.tokens >= price) {
      bucket.tokens -= price
      return 0
    }
    return Math.max(1, Math.ceil(((price - bucket.tokens) * 1000) / perSecond))
  }

  /** Forgets buckets that have refilled (they would be recreated full anyway). */
  prune(): void {
    const now = this.#now()
    const { perSecond, burst } = this.#spec
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + ((now - bucket.at) * perSecond) / 1000 >= burst) this.#buckets.delete(key)
    }
    // Still over the cap (a flood of distinct keys): start over rather than grow.
    if (this.#buckets.size >= this.#maxKeys) this.#buckets.clear()
  }
}

/** Counts violations in a sliding window; `record` says when the limit is passed. */
export class ViolationCounter {
  readonly #limit: number
  readonly #windowMs: number
  readonly #now: () => number
  #times: number[] = []

  constructor(limit: number, windowMs: number, now: () => number) {
    this.#limit = limit
    this.#windowMs = windowMs
    this.#now = now
  }

  /** Records one violation; true when the window now holds `limit` of them. */
  record(): boolean {
    const now = this.#now()
    this.#times = this.#times.filter((time) => now - time < this.#windowMs)
    this.#times.push(now)
    return this.#times.length >= this.#limit
  }
}
