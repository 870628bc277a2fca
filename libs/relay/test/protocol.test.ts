/**
 * The protocol's byte-level pieces on their own: framing (split, trickled
 * and oversize input), base64url (canonical spelling only), the strict
 * client-frame parser against hostile payloads, and the datagram codec.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  encodeDatagram,
  encodeFrame,
  FrameDecoder,
  FrameError,
  FrameTooLargeError,
  fromBase64url,
  isRoomId,
  newRoomId,
  parseClientFrame,
  parseDownDatagram,
  parseUpDatagram,
  roomOfContext,
  toBase64url,
  TooLargeError,
} from '@keypin/relay'
import { seeded } from './crypto-support.js'

const limits = { maxMessageBytes: 1024, maxRoomMembers: 4 }
const user = 'k' + 'a'.repeat(32)
const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))


test('frames survive any split of the byte stream, including one byte at a time', () => {
  const frames = [{ t: 'a' }, { t: 'b', x: 'y'.repeat(1000) }, { t: 'c', n: [1, 2, 3] }]
  const bytes = Buffer.concat(frames.map((f) => encodeFrame(f)))
  const decode = (chunkSize: number): unknown[] => {
    const decoder = new FrameDecoder()
    const out: unknown[] = []
    for (let i = 0; i < bytes.byteLength; i += chunkSize) {
      for (const payload of decoder.push(bytes.subarray(i, i + chunkSize))) out.push(JSON.parse(new TextDecoder().decode(payload)))
    }
    assert.equal(decoder.buffered, 0)
    return out
  }
  for (const size of [1, 2, 3, 7, 100, bytes.byteLength]) assert.deepEqual(decode(size), frames, `chunks of ${size}`)
})

test('a length prefix over the limit fails at once, before the payload arrives', () => {
  const decoder = new FrameDecoder(100)
  assert.deepEqual(decoder.push(new Uint8Array([0, 0])), [])
  assert.throws(() => decoder.push(new Uint8Array([0, 101])), (error: unknown) => error instanceof FrameTooLargeError && error.length === 101)
  assert.equal(new FrameDecoder(100).push(new Uint8Array([0, 0, 0, 100, ...new Uint8Array(100)])).length, 1)
})

test('trickling a 64 KiB frame a byte at a time costs linear work', () => {
  const payload = new Uint8Array(65_536).fill(0x20)
  const frame = new Uint8Array(4 + payload.byteLength)
  new DataView(frame.buffer).setUint32(0, payload.byteLength)
  frame.set(payload, 4)
  const decoder = new FrameDecoder()
  const started = performance.now()
  let out: Uint8Array[] = []
  for (let i = 0; i < frame.byteLength; i++) out = out.concat(decoder.push(frame.subarray(i, i + 1)))
  assert.equal(out.length, 1)
  assert.equal(out[0]?.byteLength, 65_536)
  assert.ok(performance.now() - started < 2_000, 'linear, not quadratic')
})

test('base64url round-trips every length and refuses other spellings', () => {
  for (let length = 0; length < 70; length++) {
    const bytes = Uint8Array.from({ length }, (_, i) => (i * 37 + length) & 255)
    const text = toBase64url(bytes)
    assert.equal(text, Buffer.from(bytes).toString('base64url'))
    assert.deepEqual(fromBase64url(text), bytes)
  }
  for (const bad of ['a', 'ab==', 'ab+c', 'ab/c', 'ab c', 'AB', 'AAB', 'é']) assert.equal(fromBase64url(bad), undefined, bad)
  assert.deepEqual(fromBase64url('AA'), new Uint8Array([0]))
})

test('room ids have one shape and round-trip through their context', () => {
  const ids = new Set(Array.from({ length: 100 }, () => newRoomId()))
  assert.equal(ids.size, 100)
  for (const id of ids) {
    assert.ok(isRoomId(id), id)
    assert.equal(roomOfContext(`room:${id}`), id)
  }
  assert.equal(roomOfContext('dm'), undefined)
  assert.equal(roomOfContext('room:nope'), undefined)
  assert.ok(!isRoomId(user))
})

test('the client-frame parser accepts valid frames and names the bad field otherwise', () => {
  const send = { t: 'send', requestId: 7, from: user, to: user, id: 'abc', context: 'dm', message: 'AAAA' }
  assert.deepEqual(parseClientFrame(json(send), limits), send)
  assert.deepEqual(parseClientFrame(json({ t: 'hello', v: 1 }), limits), { t: 'hello', v: 1 })
  assert.deepEqual(parseClientFrame(json({ t: 'ack', from: user, id: 'x' }), limits), { t: 'ack', from: user, id: 'x' })
  const cases: [unknown, RegExp, boolean][] = [
    [{ ...send, to: 'bob' }, /to must be a user id/, false],
    [{ ...send, id: 'has space' }, /id must be a message id/, false],
    [{ ...send, message: 'AAA=' }, /message must be a base64url string/, false],
    [{ ...send, requestId: -1 }, /requestId/, false],
    [{ ...send, requestId: 1.5 }, /requestId/, false],
    [{ t: 'room-send', requestId: 1, room: 'r' + 'a'.repeat(26), from: user, messages: Array(5).fill({ to: user, id: 'a', message: 'AAAA' }) }, /more than 4/, false],
    [{ t: 'login', requestId: 1, publicKey: 'AAAA', signature: 'AAAA', prekey: {} }, /publicKey must encode 32 bytes/, false],
    [{ t: 'hello', v: 'one' }, /version/, true],
    [[1, 2], /not a JSON object/, true],
    [{ type: 'send' }, /"t"/, true],
  ]
  for (const [frame, pattern, fatal] of cases) {
    assert.throws(
      () => parseClientFrame(json(frame), limits),
      (error: unknown) => error instanceof FrameError && pattern.test(error.message) && error.fatal === fatal,
      JSON.stringify(frame).slice(0, 80),
    )
  }
  assert.throws(() => parseClientFrame(json({ ...send, message: 'A'.repeat(1400) }), limits), TooLargeError)
  // Error messages never echo what the peer sent.
  try {
    parseClientFrame(json({ ...send, to: 'SECRET-VALUE' }), limits)
  } catch (error) {
    assert.doesNotMatch((error as Error).message, /SECRET-VALUE/)
  }
  try {
    parseClientFrame(new TextEncoder().encode('{"t":"send", SECRET'), limits)
  } catch (error) {
    assert.doesNotMatch((error as Error).message, /SECRET/)
  }
})

test('fuzz: mutated frames only ever fail with a FrameError', () => {
  const random = seeded(0x5eed)
  const samples = [
    { t: 'send', requestId: 7, from: user, to: user, id: 'abc', context: 'dm', message: 'AAAA' },
    { t: 'room-send', requestId: 1, room: 'r' + 'a'.repeat(26), from: user, messages: [{ to: user, id: 'a', message: 'AAAA' }] },
    { t: 'login', requestId: 1, publicKey: 'A'.repeat(43), signature: 'A'.repeat(86), prekey: { id: 1, publicKey: 'A'.repeat(43), createdAt: 5, signature: 'A'.repeat(86) } },
  ]
  for (let round = 0; round < 3_000; round++) {
    const bytes = json(samples[round % samples.length])
    const mutations = 1 + Math.floor(random() * 4)
    for (let i = 0; i < mutations; i++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256)
    try {
      parseClientFrame(bytes, limits)
    } catch (error) {
      assert.ok(error instanceof FrameError, `round ${round}: ${String(error)}`)
    }
  }
})

test('datagrams: versioned JSON, anything else ignored', () => {
  assert.deepEqual(parseUpDatagram(encodeDatagram({ t: 'typing', to: user })), { t: 'typing', to: user })
  assert.deepEqual(parseDownDatagram(encodeDatagram({ t: 'presence', user, online: true })), { t: 'presence', user, online: true })
  const room = newRoomId()
  assert.deepEqual(parseDownDatagram(encodeDatagram({ t: 'typing', from: user, room })), { t: 'typing', from: user, room })
  for (const bad of [
    json({ v: 2, t: 'typing', to: user }),
    json({ v: 1, t: 'typing', to: 'nobody' }),
    json({ v: 1, t: 'presence', user, online: 'yes' }),
    new Uint8Array([0xff, 0xfe]),
    new Uint8Array(2000),
  ]) {
    assert.equal(parseUpDatagram(bad), undefined)
    assert.equal(parseDownDatagram(bad), undefined)
  }
})
