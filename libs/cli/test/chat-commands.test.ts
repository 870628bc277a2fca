/**
 * The chat's line parser and its output escaping, checked directly: every
 * command with its arguments, the problems it reports, and that peer text
 * can never become a second line or a terminal escape.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseChatLine } from '../dist/chat-commands.js'
import { format, printable } from '../dist/chat-output.js'

const ALICE = `k${'a'.repeat(32)}`
const isUserId = (value: string): boolean => /^k[a-z2-7]{32}$/.test(value)
const parse = (line: string) => parseChatLine(line, isUserId)

test('commands and their arguments', () => {
  assert.deepEqual(parse(`/dm ${ALICE} hello   there `), { kind: 'dm', to: ALICE, text: 'hello   there' })
  assert.deepEqual(parse('/say r1 good  morning'), { kind: 'say', roomId: 'r1', text: 'good  morning' })
  assert.deepEqual(parse('/room create'), { kind: 'room-create', ttlMinutes: 60, maxMembers: 16 })
  assert.deepEqual(parse('/room create 5'), { kind: 'room-create', ttlMinutes: 5, maxMembers: 16 })
  assert.deepEqual(parse('/room create 5 3'), { kind: 'room-create', ttlMinutes: 5, maxMembers: 3 })
  assert.deepEqual(parse('/room join r1'), { kind: 'room-join', roomId: 'r1' })
  assert.deepEqual(parse('/room leave r1'), { kind: 'room-leave', roomId: 'r1' })
  assert.deepEqual(parse('/room revoke r1'), { kind: 'room-revoke', roomId: 'r1' })
  assert.deepEqual(parse('/room extend r1 30'), { kind: 'room-extend', roomId: 'r1', ttlMinutes: 30 })
  assert.deepEqual(parse(`/safety ${ALICE}`), { kind: 'safety', userId: ALICE })
  assert.deepEqual(parse('/help'), { kind: 'help' })
  assert.deepEqual(parse('  /quit  '), { kind: 'quit' })
  assert.deepEqual(parse('   '), { kind: 'nothing' })
})

test('malformed lines name the problem', () => {
  const cases: [string, RegExp][] = [
    ['hello', /commands start with "\/"/],
    ['/dm', /usage: \/dm USER text/],
    ['/dm bob hi', /"bob" is not a user id/],
    [`/dm ${ALICE}`, /nothing to send/],
    ['/say r1', /usage: \/say ROOM text/],
    ['/room', /usage: \/room create\|join/],
    ['/room create 0', /ttl-minutes must be a positive whole number, got "0"/],
    ['/room create 5 many', /max-members must be a positive whole number/],
    ['/room create 1 2 3', /usage: \/room create/],
    ['/room join', /usage: \/room join ROOM/],
    ['/room extend r1', /usage: \/room extend ROOM minutes/],
    ['/safety', /usage: \/safety USER/],
    ['/frobnicate', /unknown command "\/frobnicate"/],
  ]
  for (const [line, expected] of cases) {
    const parsed = parse(line)
    assert.equal(parsed.kind, 'invalid', line)
    assert.match((parsed as { problem: string }).problem, expected, line)
  }
})

test('peer text is printed on one line with controls and bidi overrides escaped', () => {
  const line = printable(format.direct(ALICE, 'hi\n[dm] forged\u001b[2J\u202eevil\u0000'))
  assert.equal(line, `[dm] ${ALICE}: hi\\u{a}[dm] forged\\u{1b}[2J\\u{202e}evil\\u{0}`)
  assert.equal(printable('plain text, ümlauts and emoji 🎉 stay'), 'plain text, ümlauts and emoji 🎉 stay')
})
