/**
 * SDP helpers for the dialing side of the WebRTC path.
 *
 * There is no signalling: the dialer creates its own offer and writes the
 * server's answer itself from the address (ICE-lite server, one host
 * candidate, the pinned digest as DTLS fingerprint). The ICE credentials come
 * from one of two handshakes:
 * - classic: the dialer rewrites its offer to a random ufrag `U` and `pwd(U)`,
 *   and the answer carries the same pair;
 * - no-munge: the offer stays untouched (browsers are removing the ability to
 *   rewrite it); the answer's ufrag is the dialer's own password and its pwd
 *   is derived from that.
 *
 * This file handles text only: it does not touch RTCPeerConnection and is no
 * general SDP parser (it reads just the ICE credential lines).
 */
import { isIPv4, isIPv6 } from './address.js'
import { fingerprintFromDigest } from './certhash.js'
import { KeypinError, describe } from './errors.js'
import { deriveIcePassword, isValidIcePwd, isValidIceUfrag, randomIceUfrag } from './ice.js'
import { MAX_FRAME_SIZE } from './wire/framing.js'

/** The `a=max-message-size` the answer advertises unless told otherwise (256 KiB). */
export const DEFAULT_MAX_MESSAGE_SIZE = 262144

/** SCTP port both ends use inside the DTLS association. */
export const SCTP_PORT = 5000

export interface IceCredentials {
  ufrag: string
  pwd: string
}

export interface AnswerOptions {
  /** The server's IP literal, IPv6 without brackets (as parseAddress returns it). */
  host: string
  port: number
  family: 4 | 6
  /** The pinned 32-byte certificate digest. */
  digest: Uint8Array
  /** The server's ICE ufrag and password, from classicCredentials or noMungeServerCredentials. */
  ufrag: string
  pwd: string
  /** Largest message the server accepts; at least one stream frame (16384). */
  maxMessageSize?: number
}

/**
 * The server's answer: ICE-lite, DTLS server (setup:passive) with the pinned
 * fingerprint, and one host candidate at the address. Lines end in CRLF.
 * Throws `invalid-argument` for any bad option.
 */
export function synthesizeAnswer(options: AnswerOptions): string {
  if (typeof options !== 'object' || options === null) {
    throw new KeypinError('invalid-argument', `answer options must be an object, got ${describe(options)}`)
  }
  const { host, port, family, digest, ufrag, pwd, maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE } = options
  checkHost(host, family)
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new KeypinError('invalid-argument', `port ${describe(port)} is not an integer in range 1-65535`)
  }
  checkCredentials(ufrag, pwd)
  if (typeof maxMessageSize !== 'number' || !Number.isSafeInteger(maxMessageSize) || maxMessageSize < MAX_FRAME_SIZE) {
    throw new KeypinError(
      'invalid-argument',
      `maxMessageSize ${describe(maxMessageSize)} must be an integer of at least ${MAX_FRAME_SIZE} (one stream frame)`,
    )
  }
  // Validates the digest's type and length as well.
  const fingerprint = fingerprintFromDigest(digest)
  const ipVersion = family === 4 ? 'IP4' : 'IP6'
  // Host candidate priority per RFC 8445 5.1.2.1: type preference 126 (host),
  // local preference 65535, component 1.
  const priority = 126 * 2 ** 24 + 65535 * 2 ** 8 + (256 - 1)
  const lines = [
    'v=0',
    // Session id and version are not used by anyone; constants keep the answer reproducible.
    `o=- 0 0 IN ${ipVersion} ${host}`,
    's=-',
    't=0 0',
    'a=ice-lite',
    `m=application ${port} UDP/DTLS/SCTP webrtc-datachannel`,
    `c=IN ${ipVersion} ${host}`,
    'a=mid:0',
    `a=ice-ufrag:${ufrag}`,
    `a=ice-pwd:${pwd}`,
    `a=fingerprint:sha-256 ${fingerprint}`,
    'a=setup:passive',
    `a=sctp-port:${SCTP_PORT}`,
    `a=max-message-size:${maxMessageSize}`,
    `a=candidate:1 1 udp ${priority} ${host} ${port} typ host`,
    'a=end-of-candidates',
  ]
  return lines.join('\r\n') + '\r\n'
}

/**
 * The first `a=ice-ufrag` and `a=ice-pwd` in an SDP, validated as ICE
 * credentials. Throws `protocol-error` naming a missing or invalid line.
 */
export function readIceCredentials(sdp: string): IceCredentials {
  checkSdp(sdp)
  const ufrag = firstValue(sdp, UFRAG_LINE, 'a=ice-ufrag')
  const pwd = firstValue(sdp, PWD_LINE, 'a=ice-pwd')
  if (!isValidIceUfrag(ufrag)) {
    throw new KeypinError('protocol-error', `SDP a=ice-ufrag value ${quote(ufrag)} is not an ICE ufrag (4-256 of A-Z a-z 0-9 + /)`)
  }
  if (!isValidIcePwd(pwd)) {
    throw new KeypinError('protocol-error', `SDP a=ice-pwd value ${quote(pwd)} is not an ICE password (22-256 of A-Z a-z 0-9 + /)`)
  }
  return { ufrag, pwd }
}

/**
 * Replaces every `a=ice-ufrag` and `a=ice-pwd` value (classic handshake:
 * the offer is rewritten before setLocalDescription). Line endings are kept
 * as they were. Throws `invalid-argument` for bad credentials and
 * `protocol-error` when the SDP lacks either line.
 */
export function rewriteIceCredentials(sdp: string, ufrag: string, pwd: string): string {
  checkSdp(sdp)
  checkCredentials(ufrag, pwd)
  firstValue(sdp, UFRAG_LINE, 'a=ice-ufrag')
  firstValue(sdp, PWD_LINE, 'a=ice-pwd')
  // Replacer functions, so no character of the value is read as a "$" pattern.
  return sdp
    .replace(new RegExp(UFRAG_LINE.source, 'gm'), () => `a=ice-ufrag:${ufrag}`)
    .replace(new RegExp(PWD_LINE.source, 'gm'), () => `a=ice-pwd:${pwd}`)
}

/**
 * Classic handshake: a fresh random ufrag `U` and `pwd(U)`, used by both the
 * rewritten offer and the synthesized answer. Throws `invalid-argument` for a
 * digest that is not 32 bytes.
 */
export function classicCredentials(digest: Uint8Array): IceCredentials {
  const ufrag = randomIceUfrag()
  return { ufrag, pwd: deriveIcePassword(digest, ufrag) }
}

/**
 * No-munge handshake: the server's ufrag is the dialer's own ICE password
 * (so the server reads it from the STUN USERNAME) and its password is derived
 * from that ufrag. Throws `invalid-argument` for a bad password or digest.
 */
export function noMungeServerCredentials(digest: Uint8Array, browserPwd: string): IceCredentials {
  // A valid password (22-256 ice-chars) is always a valid ufrag (4-256).
  if (!isValidIcePwd(browserPwd)) {
    throw new KeypinError(
      'invalid-argument',
      `dialer ICE password ${describe(browserPwd)} is not valid (22-256 of A-Z a-z 0-9 + /)`,
    )
  }
  return { ufrag: browserPwd, pwd: deriveIcePassword(digest, browserPwd) }
}

// Whole attribute lines; in multiline mode `$` stops before "\r\n" or "\n".
const UFRAG_LINE = /^a=ice-ufrag:([^\r\n]*)$/m
const PWD_LINE = /^a=ice-pwd:([^\r\n]*)$/m

function firstValue(sdp: string, line: RegExp, name: string): string {
  const match = line.exec(sdp)
  if (match === null) throw new KeypinError('protocol-error', `SDP has no ${name} line`)
  return match[1] as string
}

function checkSdp(sdp: unknown): asserts sdp is string {
  if (typeof sdp !== 'string') {
    throw new KeypinError('invalid-argument', `SDP must be a string, got ${describe(sdp)}`)
  }
}

function checkHost(host: unknown, family: unknown): void {
  if (family !== 4 && family !== 6) {
    throw new KeypinError('invalid-argument', `family must be 4 or 6, got ${describe(family)}`)
  }
  const valid = typeof host === 'string' && (family === 4 ? isIPv4(host) : isIPv6(host))
  if (!valid) {
    throw new KeypinError('invalid-argument', `host ${describe(host)} is not an IPv${family} literal (IPv6 without brackets)`)
  }
}

function checkCredentials(ufrag: unknown, pwd: unknown): void {
  if (typeof ufrag !== 'string' || !isValidIceUfrag(ufrag)) {
    throw new KeypinError('invalid-argument', `ufrag ${describe(ufrag)} is not an ICE ufrag (4-256 of A-Z a-z 0-9 + /)`)
  }
  if (typeof pwd !== 'string' || !isValidIcePwd(pwd)) {
    throw new KeypinError('invalid-argument', `pwd ${describe(pwd)} is not an ICE password (22-256 of A-Z a-z 0-9 + /)`)
  }
}

/** Quotes untrusted text for a message, shortening very long input. */
function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)
}
