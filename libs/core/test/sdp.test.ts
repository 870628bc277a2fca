/**
 * SDP helper tests: the synthesized answer line by line, reading and
 * rewriting ICE credentials in an offer shaped like a browser's, and the two
 * handshake credential rules.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  DEFAULT_MAX_MESSAGE_SIZE,
  SCTP_PORT,
  classicCredentials,
  deriveIcePassword,
  fingerprintFromDigest,
  isValidIcePwd,
  isValidIceUfrag,
  noMungeServerCredentials,
  parseAddress,
  readIceCredentials,
  rewriteIceCredentials,
  synthesizeAnswer,
  type AnswerOptions,
} from '@keypin/core'
import { assertKeypinError, fromHex } from './support.js'

const digest = fromHex('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
const fingerprint = fingerprintFromDigest(digest)
const ufrag = 'q+Z/09azAZ+/'
const pwd = deriveIcePassword(digest, ufrag)
const v4: AnswerOptions = { host: '192.0.2.7', port: 4242, family: 4, digest, ufrag, pwd }

/** An offer in the shape browsers produce for a data-channel-only connection (values made up). */
const OFFER = [
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0',
  'a=extmap-allow-mixed',
  'a=msid-semantic: WMS',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
  'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:Gh4k',
  'a=ice-pwd:Rj7u1lQ0wW2zXy9+Kp/AbCdEf',
  'a=ice-options:trickle',
  'a=fingerprint:sha-256 11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00',
  'a=setup:actpass',
  'a=mid:0',
  'a=sctp-port:5000',
  'a=max-message-size:262144',
  '',
].join('\r\n')

describe('synthesizeAnswer', () => {
  it('has exactly the required lines, in order, CRLF-terminated', () => {
    const answer = synthesizeAnswer(v4)
    assert.ok(answer.endsWith('\r\n'))
    assert.equal(answer.replace(/\r\n/g, '').includes('\n'), false, 'no bare LF')
    assert.equal(answer.replace(/\r\n/g, '').includes('\r'), false, 'no bare CR')
    assert.deepEqual(answer.split('\r\n'), [
      'v=0',
      'o=- 0 0 IN IP4 192.0.2.7',
      's=-',
      't=0 0',
      'a=ice-lite',
      'm=application 4242 UDP/DTLS/SCTP webrtc-datachannel',
      'c=IN IP4 192.0.2.7',
      'a=mid:0',
      `a=ice-ufrag:${ufrag}`,
      `a=ice-pwd:${pwd}`,
      `a=fingerprint:sha-256 ${fingerprint}`,
      'a=setup:passive',
      'a=sctp-port:5000',
      'a=max-message-size:262144',
      'a=candidate:1 1 udp 2130706431 192.0.2.7 4242 typ host',
      'a=end-of-candidates',
      '',
    ])
    assert.equal(SCTP_PORT, 5000)
    assert.equal(DEFAULT_MAX_MESSAGE_SIZE, 262144)
  })

  it('uses the upper-case fingerprint of the pinned digest', () => {
    const line = synthesizeAnswer(v4).split('\r\n').find((l) => l.startsWith('a=fingerprint:'))
    assert.match(line ?? '', /^a=fingerprint:sha-256 ([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
  })

  it('writes IPv6 hosts bare, with IP6', () => {
    const lines = synthesizeAnswer({ ...v4, host: '2001:db8::1', family: 6 }).split('\r\n')
    assert.ok(lines.includes('o=- 0 0 IN IP6 2001:db8::1'))
    assert.ok(lines.includes('c=IN IP6 2001:db8::1'))
    assert.ok(lines.includes('a=candidate:1 1 udp 2130706431 2001:db8::1 4242 typ host'))
  })

  it('takes a parsed address directly', () => {
    const address = parseAddress('[::1]:443:uEiC6eBa_jwHP6kFBQN5driIjsANho5YXepy0EP9h8gAVrQ')
    const answer = synthesizeAnswer({ ...address, ufrag, pwd })
    assert.ok(answer.includes('\r\nm=application 443 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP6 ::1\r\n'))
    assert.ok(answer.includes(`a=fingerprint:sha-256 ${fingerprint}\r\n`))
  })

  it('parses back with readIceCredentials', () => {
    assert.deepEqual(readIceCredentials(synthesizeAnswer(v4)), { ufrag, pwd })
  })

  it('honours maxMessageSize and rejects values below one frame', () => {
    assert.ok(synthesizeAnswer({ ...v4, maxMessageSize: 16384 }).includes('\r\na=max-message-size:16384\r\n'))
    for (const maxMessageSize of [0, 16383, 1.5, -1, Number.NaN]) {
      assertKeypinError(() => synthesizeAnswer({ ...v4, maxMessageSize }), 'invalid-argument', 'maxMessageSize')
    }
  })

  it('rejects bad hosts, families and ports', () => {
    assertKeypinError(() => synthesizeAnswer({ ...v4, host: '::1' }), 'invalid-argument', 'IPv4')
    assertKeypinError(() => synthesizeAnswer({ ...v4, host: '[::1]', family: 6 }), 'invalid-argument', 'IPv6')
    assertKeypinError(() => synthesizeAnswer({ ...v4, host: 'example.com' }), 'invalid-argument', 'example.com')
    assertKeypinError(() => synthesizeAnswer({ ...v4, host: '1.2.3.4\r\na=x' }), 'invalid-argument', 'IPv4')
    assertKeypinError(() => synthesizeAnswer({ ...v4, family: 5 as unknown as 4 }), 'invalid-argument', 'family')
    for (const port of [0, 65536, 1.5, Number.NaN]) {
      assertKeypinError(() => synthesizeAnswer({ ...v4, port }), 'invalid-argument', 'port')
    }
  })

  it('rejects bad credentials and digests', () => {
    assertKeypinError(() => synthesizeAnswer({ ...v4, ufrag: 'abc' }), 'invalid-argument', 'ufrag')
    assertKeypinError(() => synthesizeAnswer({ ...v4, ufrag: 'abcd\r\na=x' }), 'invalid-argument', 'ufrag')
    assertKeypinError(() => synthesizeAnswer({ ...v4, pwd: 'short' }), 'invalid-argument', 'pwd')
    assertKeypinError(() => synthesizeAnswer({ ...v4, digest: new Uint8Array(31) }), 'invalid-argument', '32 bytes')
    assertKeypinError(() => synthesizeAnswer(null as unknown as AnswerOptions), 'invalid-argument', 'object')
  })
})

describe('readIceCredentials', () => {
  it('reads a browser-shaped offer', () => {
    assert.deepEqual(readIceCredentials(OFFER), { ufrag: 'Gh4k', pwd: 'Rj7u1lQ0wW2zXy9+Kp/AbCdEf' })
  })

  it('accepts LF-only line endings', () => {
    assert.deepEqual(readIceCredentials(OFFER.replace(/\r\n/g, '\n')), { ufrag: 'Gh4k', pwd: 'Rj7u1lQ0wW2zXy9+Kp/AbCdEf' })
  })

  it('takes the first of several lines', () => {
    const twice = OFFER + 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=ice-ufrag:Zzzz\r\na=ice-pwd:' + 'z'.repeat(22) + '\r\n'
    assert.deepEqual(readIceCredentials(twice), { ufrag: 'Gh4k', pwd: 'Rj7u1lQ0wW2zXy9+Kp/AbCdEf' })
  })

  it('names a missing line', () => {
    assertKeypinError(() => readIceCredentials(OFFER.replace(/a=ice-ufrag:[^\r]*\r\n/, '')), 'protocol-error', 'no a=ice-ufrag line')
    assertKeypinError(() => readIceCredentials(OFFER.replace(/a=ice-pwd:[^\r]*\r\n/, '')), 'protocol-error', 'no a=ice-pwd line')
    assertKeypinError(() => readIceCredentials(''), 'protocol-error', 'a=ice-ufrag')
    // Not at the start of a line: not an attribute line.
    assertKeypinError(() => readIceCredentials(OFFER.replace('a=ice-ufrag', ' a=ice-ufrag')), 'protocol-error', 'a=ice-ufrag')
  })

  it('rejects values that are not ICE credentials', () => {
    for (const bad of ['abc', 'ab-cd', 'abcd ', 'a'.repeat(257), '', 'abçd']) {
      assertKeypinError(() => readIceCredentials(OFFER.replace('a=ice-ufrag:Gh4k', `a=ice-ufrag:${bad}`)), 'protocol-error', 'a=ice-ufrag')
    }
    for (const bad of ['a'.repeat(21), `${'a'.repeat(22)}_`, '']) {
      assertKeypinError(
        () => readIceCredentials(OFFER.replace('a=ice-pwd:Rj7u1lQ0wW2zXy9+Kp/AbCdEf', `a=ice-pwd:${bad}`)),
        'protocol-error',
        'a=ice-pwd',
      )
    }
  })

  it('rejects non-strings with invalid-argument', () => {
    assertKeypinError(() => readIceCredentials(42 as unknown as string), 'invalid-argument', 'SDP')
  })
})

describe('rewriteIceCredentials', () => {
  const newPwd = deriveIcePassword(digest, 'Wxyz')

  it('replaces the credentials and leaves every other byte alone', () => {
    const rewritten = rewriteIceCredentials(OFFER, 'Wxyz', newPwd)
    assert.deepEqual(readIceCredentials(rewritten), { ufrag: 'Wxyz', pwd: newPwd })
    const expected = OFFER.replace('a=ice-ufrag:Gh4k', 'a=ice-ufrag:Wxyz').replace('a=ice-pwd:Rj7u1lQ0wW2zXy9+Kp/AbCdEf', `a=ice-pwd:${newPwd}`)
    assert.equal(rewritten, expected)
  })

  it('replaces every occurrence and keeps LF or CRLF endings', () => {
    const twice = OFFER + 'a=ice-ufrag:Zzzz\r\na=ice-pwd:' + 'z'.repeat(22) + '\r\n'
    const rewritten = rewriteIceCredentials(twice, 'Wxyz', newPwd)
    assert.equal(rewritten.split('a=ice-ufrag:Wxyz\r\n').length, 3)
    assert.equal(rewritten.split(`a=ice-pwd:${newPwd}\r\n`).length, 3)
    const lf = rewriteIceCredentials(OFFER.replace(/\r\n/g, '\n'), 'Wxyz', newPwd)
    assert.equal(lf.includes('\r'), false)
    assert.ok(lf.includes('\na=ice-ufrag:Wxyz\n'))
  })

  it('validates the new credentials', () => {
    assertKeypinError(() => rewriteIceCredentials(OFFER, 'ab', newPwd), 'invalid-argument', 'ufrag')
    assertKeypinError(() => rewriteIceCredentials(OFFER, 'Wxyz', 'short'), 'invalid-argument', 'pwd')
    assertKeypinError(() => rewriteIceCredentials(OFFER, 'Wx$&', newPwd), 'invalid-argument', 'ufrag')
  })

  it('names a missing line', () => {
    assertKeypinError(() => rewriteIceCredentials('v=0\r\n', 'Wxyz', newPwd), 'protocol-error', 'a=ice-ufrag')
    assertKeypinError(
      () => rewriteIceCredentials(OFFER.replace(/a=ice-pwd:[^\r]*\r\n/, ''), 'Wxyz', newPwd),
      'protocol-error',
      'a=ice-pwd',
    )
  })
})

describe('handshake credentials', () => {
  it('classic: a fresh random ufrag U and pwd(U)', () => {
    const first = classicCredentials(digest)
    const second = classicCredentials(digest)
    assert.notEqual(first.ufrag, second.ufrag)
    for (const credentials of [first, second]) {
      assert.equal(credentials.ufrag.length, 12)
      assert.equal(isValidIceUfrag(credentials.ufrag), true)
      assert.equal(isValidIcePwd(credentials.pwd), true)
      assert.equal(credentials.pwd, deriveIcePassword(digest, credentials.ufrag))
    }
    assertKeypinError(() => classicCredentials(new Uint8Array(16)), 'invalid-argument', '32 bytes')
  })

  it('classic: the rewritten offer and the answer carry the same pair', () => {
    const credentials = classicCredentials(digest)
    const offer = rewriteIceCredentials(OFFER, credentials.ufrag, credentials.pwd)
    const answer = synthesizeAnswer({ ...v4, ...credentials })
    assert.deepEqual(readIceCredentials(offer), readIceCredentials(answer))
  })

  it('no-munge: server ufrag is the dialer password, server pwd is derived from it', () => {
    const browser = readIceCredentials(OFFER)
    const server = noMungeServerCredentials(digest, browser.pwd)
    assert.equal(server.ufrag, browser.pwd)
    assert.equal(server.pwd, deriveIcePassword(digest, browser.pwd))
    assert.deepEqual(readIceCredentials(synthesizeAnswer({ ...v4, ...server })), server)
  })

  it('no-munge: accepts the longest password as a ufrag', () => {
    const longest = 'x'.repeat(256)
    assert.equal(noMungeServerCredentials(digest, longest).ufrag, longest)
  })

  it('no-munge: rejects an invalid dialer password', () => {
    for (const bad of ['a'.repeat(21), `${'a'.repeat(22)}-`, 'a'.repeat(257), 7 as unknown as string]) {
      assertKeypinError(() => noMungeServerCredentials(digest, bad), 'invalid-argument', 'password')
    }
    assertKeypinError(() => noMungeServerCredentials(new Uint8Array(0), 'a'.repeat(22)), 'invalid-argument', '32 bytes')
  })
})
