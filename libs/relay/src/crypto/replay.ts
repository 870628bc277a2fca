/**
 * ReplayGuard: remembers which (sender, message id) pairs a client has
 * accepted, so a relay (or anyone on the path) replaying a sealed message is
 * caught. Signatures make a replayed message look genuine; only memory can
 * tell it was seen before.
 *
 * A message is judged, in this order: `future` when its sentAt is more than
 * maxFutureSkewMs ahead of now; `replay` when its (from, id) is remembered;
 * `too-old` when it is older than maxAgeMs or older than anything the guard
 * has forgotten; otherwise `ok`, and it is remembered.
 *
 * Memory is bounded by maxEntries. Entries leave oldest-sentAt first, either
 * because they aged past maxAgeMs or to make room; whenever one leaves, the
 * guard raises its `floor` past that entry's sentAt and from then on refuses
 * anything sent before the floor as `too-old`. Forgetting therefore never
 * reopens a replay, even if the clock steps back; the cost is that a message
 * delayed behind newer ones can be refused once the guard is full.
 *
 * The state persists as JSON (`toJSON` / `fromJSON`); the options do not and
 * are passed again when restoring. This guard does not verify messages; call
 * it after `openMessage` succeeds, with the message's own from, id and sentAt.
 */
import { MAX_U64_NUMBER } from './bytes.js'
import { isMessageId } from './encoding.js'
import { RelayCryptoError, assertInteger, assertObject, describe } from './errors.js'
import { isUserId } from './user-id.js'

export type ReplayVerdict = 'ok' | 'replay' | 'too-old' | 'future'

export interface ReplayGuardOptions {
  /** Messages sent longer ago than this are `too-old`. Default 7 days. */
  maxAgeMs?: number
  /** Messages sent further than this in the future are `future`. Default 5 minutes. */
  maxFutureSkewMs?: number
  /** Remembered messages at most; the oldest are forgotten first. Default 100 000. */
  maxEntries?: number
  /** Clock in ms since the epoch. Default `Date.now`. */
  now?: () => number
}

export const REPLAY_DEFAULTS = Object.freeze({
  maxAgeMs: 7 * 24 * 60 * 60 * 1000,
  maxFutureSkewMs: 5 * 60 * 1000,
  maxEntries: 100_000,
})

/** Version of the persisted form. */
const STATE_VERSION = 1
/** A floor one past the largest sentAt. */
const MAX_FLOOR = MAX_U64_NUMBER + 1

interface Entry {
  readonly key: string
  readonly from: string
  readonly id: string
  readonly sentAt: number
}

export class ReplayGuard {
  readonly #maxAgeMs: number
  readonly #maxFutureSkewMs: number
  readonly #maxEntries: number
  readonly #now: () => number
  readonly #seen = new Set<string>()
  /** Min-heap on sentAt holding exactly the entries in #seen. */
  readonly #heap: Entry[] = []
  /** Messages sent before this are `too-old`: something at least that old was forgotten. */
  #floor = 0

  constructor(options: ReplayGuardOptions = {}) {
    if (typeof options !== 'object' || options === null) {
      throw new RelayCryptoError('bad-input', `ReplayGuard options must be an object, got ${describe(options)}`)
    }
    const { maxAgeMs, maxFutureSkewMs, maxEntries, now } = options
    this.#maxAgeMs = maxAgeMs ?? REPLAY_DEFAULTS.maxAgeMs
    this.#maxFutureSkewMs = maxFutureSkewMs ?? REPLAY_DEFAULTS.maxFutureSkewMs
    this.#maxEntries = maxEntries ?? REPLAY_DEFAULTS.maxEntries
    assertInteger(this.#maxAgeMs, 'maxAgeMs', MAX_U64_NUMBER)
    assertInteger(this.#maxFutureSkewMs, 'maxFutureSkewMs', MAX_U64_NUMBER)
    assertInteger(this.#maxEntries, 'maxEntries', MAX_U64_NUMBER)
    if (this.#maxEntries < 1) throw new RelayCryptoError('bad-input', 'maxEntries must be at least 1')
    if (now !== undefined && typeof now !== 'function') {
      throw new RelayCryptoError('bad-input', `now must be a function, got ${describe(now)}`)
    }
    this.#now = now ?? Date.now
  }

  /** Remembered messages. */
  get size(): number {
    return this.#seen.size
  }

  /** Judges one opened message; `ok` records it. Throws `bad-input` for a malformed argument. */
  check(from: string, id: string, sentAt: number): ReplayVerdict {
    if (!isUserId(from)) throw new RelayCryptoError('bad-input', `from must be a user id, got ${describe(from)}`)
    if (!isMessageId(id)) throw new RelayCryptoError('bad-input', `id must be a message id, got ${describe(id)}`)
    assertInteger(sentAt, 'sentAt', MAX_U64_NUMBER)
    const now = this.#now()
    if (typeof now !== 'number' || !Number.isFinite(now)) {
      throw new RelayCryptoError('bad-input', `now() must return a finite number, got ${describe(now)}`)
    }
    const oldest = now - this.#maxAgeMs
    while (this.#heap.length > 0 && (this.#heap[0] as Entry).sentAt < oldest) this.#forgetOldest()

    if (sentAt > now + this.#maxFutureSkewMs) return 'future'
    const key = keyOf(from, id)
    if (this.#seen.has(key)) return 'replay'
    if (sentAt < oldest || sentAt < this.#floor) return 'too-old'
    this.#remember({ key, from, id, sentAt })
    return 'ok'
  }

  /** The state as plain JSON: `{ v: 1, floor, entries: [[from, id, sentAt], ...] }`, oldest first. */
  toJSON(): { v: 1; floor: number; entries: Array<[string, string, number]> } {
    const entries = [...this.#heap]
      .sort((a, b) => a.sentAt - b.sentAt)
      .map((entry): [string, string, number] => [entry.from, entry.id, entry.sentAt])
    return { v: STATE_VERSION, floor: this.#floor, entries }
  }

  /**
   * Restores a guard from `toJSON` output (parsed back from text). Throws
   * `bad-input` naming the first malformed part. If the state holds more
   * entries than `options.maxEntries`, the oldest are forgotten (raising the
   * floor) as if they had just been evicted.
   */
  static fromJSON(value: unknown, options?: ReplayGuardOptions): ReplayGuard {
    assertObject(value, 'replay state')
    if (value['v'] !== STATE_VERSION) {
      const got = describe(value['v'])
      throw new RelayCryptoError('bad-input', `replay state version must be ${STATE_VERSION}, got ${got}`)
    }
    assertInteger(value['floor'], 'replay state floor', MAX_FLOOR)
    const entries = value['entries']
    if (!Array.isArray(entries)) {
      throw new RelayCryptoError('bad-input', `replay state entries must be an array, got ${describe(entries)}`)
    }
    const guard = new ReplayGuard(options)
    guard.#floor = value['floor']
    entries.forEach((entry: unknown, index) => {
      const what = `replay state entry ${index}`
      if (!Array.isArray(entry) || entry.length !== 3) {
        throw new RelayCryptoError('bad-input', `${what} must be [from, id, sentAt], got ${describe(entry)}`)
      }
      const [from, id, sentAt] = entry as unknown[]
      if (!isUserId(from)) throw new RelayCryptoError('bad-input', `${what}: from is not a user id`)
      if (!isMessageId(id)) throw new RelayCryptoError('bad-input', `${what}: id is not a message id`)
      assertInteger(sentAt, `${what}: sentAt`, MAX_U64_NUMBER)
      const key = keyOf(from, id)
      if (guard.#seen.has(key)) throw new RelayCryptoError('bad-input', `${what} repeats an earlier entry`)
      guard.#remember({ key, from, id, sentAt })
    })
    return guard
  }

  #remember(entry: Entry): void {
    this.#seen.add(entry.key)
    const heap = this.#heap
    heap.push(entry)
    let i = heap.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if ((heap[parent] as Entry).sentAt <= entry.sentAt) break
      heap[i] = heap[parent] as Entry
      i = parent
    }
    heap[i] = entry
    while (this.#seen.size > this.#maxEntries) this.#forgetOldest()
  }

  /** Drops the entry with the smallest sentAt and raises the floor past it. */
  #forgetOldest(): void {
    const heap = this.#heap
    const oldest = heap[0] as Entry
    const last = heap.pop() as Entry
    if (heap.length > 0) {
      let i = 0
      for (;;) {
        const left = 2 * i + 1
        if (left >= heap.length) break
        const right = left + 1
        const child = right < heap.length && (heap[right] as Entry).sentAt < (heap[left] as Entry).sentAt ? right : left
        if ((heap[child] as Entry).sentAt >= last.sentAt) break
        heap[i] = heap[child] as Entry
        i = child
      }
      heap[i] = last
    }
    this.#seen.delete(oldest.key)
    this.#floor = Math.max(this.#floor, oldest.sentAt + 1)
  }
}

function keyOf(from: string, id: string): string {
  return `${from}/${id}`
}
