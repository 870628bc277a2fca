/** ReplayGuard: verdicts, eviction without reopening replays, and persistence. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { REPLAY_DEFAULTS, ReplayGuard, generateIdentity, userIdOf } from '../dist/crypto/index.js'
import { assertRelayError } from './crypto-support.js'

const HOUR = 60 * 60 * 1000
const alice = userIdOf(generateIdentity().publicKey)
const bob = userIdOf(generateIdentity().publicKey)
const id = (n: number): string => n.toString(16).padStart(32, '0')

/** A guard on a clock the test moves by hand. */
function guardAt(start: number, options: { maxAgeMs?: number; maxFutureSkewMs?: number; maxEntries?: number } = {}) {
  const clock = { now: start }
  const guard = new ReplayGuard({ ...options, now: () => clock.now })
  return { guard, clock }
}

describe('ReplayGuard', () => {
  const T = 1_700_000_000_000

  it('accepts a message once, then calls it a replay', () => {
    const { guard } = guardAt(T)
    assert.equal(guard.check(alice, id(1), T), 'ok')
    assert.equal(guard.check(alice, id(1), T), 'replay')
    assert.equal(guard.check(alice, id(1), T - 5), 'replay', 'a replay with another sentAt is still a replay')
    assert.equal(guard.check(bob, id(1), T), 'ok', 'ids are per sender')
    assert.equal(guard.check(alice, id(2), T), 'ok')
    assert.equal(guard.size, 3)
  })

  it('has the documented defaults', () => {
    assert.deepEqual({ ...REPLAY_DEFAULTS }, { maxAgeMs: 7 * 24 * HOUR, maxFutureSkewMs: 5 * 60 * 1000, maxEntries: 100_000 })
    const guard = new ReplayGuard()
    const now = Date.now()
    assert.equal(guard.check(alice, id(1), now - 7 * 24 * HOUR + HOUR), 'ok')
    assert.equal(guard.check(alice, id(2), now - 7 * 24 * HOUR - HOUR), 'too-old')
    assert.equal(guard.check(alice, id(3), now + 4 * 60 * 1000), 'ok')
    assert.equal(guard.check(alice, id(4), now + 6 * 60 * 1000), 'future')
  })

  it('too-old and future at the exact limits', () => {
    const { guard } = guardAt(T, { maxAgeMs: HOUR, maxFutureSkewMs: 1000 })
    assert.equal(guard.check(alice, id(1), T - HOUR), 'ok')
    assert.equal(guard.check(alice, id(2), T - HOUR - 1), 'too-old')
    assert.equal(guard.check(alice, id(3), T + 1000), 'ok')
    assert.equal(guard.check(alice, id(4), T + 1001), 'future')
    assert.equal(guard.size, 2, 'refused messages are not recorded')
  })

  it('forgets aged entries without letting them back in, even if the clock steps back', () => {
    const { guard, clock } = guardAt(T, { maxAgeMs: HOUR })
    assert.equal(guard.check(alice, id(1), T), 'ok')
    clock.now = T + 2 * HOUR
    assert.equal(guard.check(alice, id(2), clock.now), 'ok')
    assert.equal(guard.size, 1, 'the aged entry was dropped')
    clock.now = T + HOUR / 2
    assert.equal(guard.check(alice, id(1), T), 'too-old')
  })

  it('evicts the oldest sentAt first when full, and never accepts an evicted message again', () => {
    const { guard } = guardAt(T, { maxEntries: 3 })
    assert.equal(guard.check(alice, id(1), T - 30), 'ok')
    assert.equal(guard.check(alice, id(2), T - 10), 'ok')
    assert.equal(guard.check(alice, id(3), T - 50), 'ok')
    assert.equal(guard.check(alice, id(4), T - 20), 'ok') // evicts id 3 (sentAt T - 50)
    assert.equal(guard.size, 3)
    assert.equal(guard.check(alice, id(3), T - 50), 'too-old')
    assert.equal(guard.check(alice, id(1), T - 30), 'replay')
    assert.equal(guard.check(alice, id(5), T - 50), 'too-old', 'at or before the floor')
    assert.equal(guard.check(alice, id(5), T - 49), 'ok') // evicts id 5 itself: it is now the oldest
    assert.equal(guard.check(alice, id(5), T - 49), 'too-old')
    assert.deepEqual(
      guard.toJSON().entries.map(([, messageId]) => messageId),
      [id(1), id(4), id(2)],
    )
  })

  it('keeps the heap order through many out-of-order inserts', () => {
    const { guard } = guardAt(T, { maxEntries: 50 })
    const sentAts = Array.from({ length: 400 }, (_, i) => T - ((i * 7919) % 1000))
    sentAts.forEach((sentAt, i) => guard.check(alice, id(i), sentAt))
    const kept = guard.toJSON().entries.map(([, , sentAt]) => sentAt)
    assert.equal(kept.length, 50)
    // Every kept sentAt is at least as new as every refused or evicted one.
    const { floor } = guard.toJSON()
    assert.ok(kept.every((sentAt) => sentAt >= floor))
    assert.deepEqual(kept, [...kept].sort((a, b) => a - b))
  })

  it('persists through JSON and carries on where it left off', () => {
    const { guard } = guardAt(T, { maxEntries: 2 })
    guard.check(alice, id(1), T - 3)
    guard.check(bob, id(2), T - 2)
    guard.check(alice, id(3), T - 1) // evicts id 1
    const text = JSON.stringify(guard)
    const restored = ReplayGuard.fromJSON(JSON.parse(text), { maxEntries: 2, now: () => T })
    assert.deepEqual(restored.toJSON(), guard.toJSON())
    assert.equal(restored.check(bob, id(2), T - 2), 'replay')
    assert.equal(restored.check(alice, id(3), T - 1), 'replay')
    assert.equal(restored.check(alice, id(1), T - 3), 'too-old')
    assert.equal(restored.check(alice, id(4), T), 'ok')
  })

  it('restoring into a smaller guard evicts the oldest and raises the floor', () => {
    const { guard } = guardAt(T)
    for (let i = 0; i < 5; i++) guard.check(alice, id(i), T - 10 + i)
    const small = ReplayGuard.fromJSON(guard.toJSON(), { maxEntries: 2, now: () => T })
    assert.equal(small.size, 2)
    assert.equal(small.check(alice, id(0), T - 10), 'too-old')
    assert.equal(small.check(alice, id(4), T - 6), 'replay')
  })

  it('fromJSON refuses malformed state, naming the part', () => {
    const good = { v: 1, floor: 0, entries: [[alice, id(1), T]] }
    const cases: Array<[unknown, string]> = [
      [null, 'replay state must be an object'],
      [{ ...good, v: 2 }, 'version'],
      [{ ...good, floor: -1 }, 'floor'],
      [{ ...good, entries: {} }, 'entries must be an array'],
      [{ ...good, entries: [[alice, id(1)]] }, 'entry 0'],
      [{ ...good, entries: [['alice', id(1), T]] }, 'entry 0: from'],
      [{ ...good, entries: [[alice, 'ID', T]] }, 'entry 0: id'],
      [{ ...good, entries: [[alice, id(1), '1']] }, 'entry 0: sentAt'],
      [{ ...good, entries: [[alice, id(1), T], [alice, id(1), T]] }, 'entry 1 repeats'],
    ]
    for (const [state, fragment] of cases) assertRelayError(() => ReplayGuard.fromJSON(state), 'bad-input', fragment)
  })

  it('check and the constructor refuse bad arguments', () => {
    const guard = new ReplayGuard()
    assertRelayError(() => guard.check('alice', id(1), T), 'bad-input', 'from must be a user id')
    assertRelayError(() => guard.check(alice, 'x', T), 'bad-input', 'id must be a message id')
    assertRelayError(() => guard.check(alice, id(1), -1), 'bad-input', 'sentAt')
    assertRelayError(() => guard.check(alice, id(1), 1.5), 'bad-input', 'sentAt')
    assertRelayError(() => new ReplayGuard({ maxEntries: 0 }), 'bad-input', 'maxEntries')
    assertRelayError(() => new ReplayGuard({ maxAgeMs: -1 }), 'bad-input', 'maxAgeMs')
    assertRelayError(() => new ReplayGuard({ now: 5 as unknown as () => number }), 'bad-input', 'now must be a function')
    assertRelayError(() => new ReplayGuard({ now: () => Number.NaN }).check(alice, id(1), T), 'bad-input', 'now()')
  })
})
