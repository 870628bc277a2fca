/**
 * Keypin addresses: `<ip>:<port>:<certhash>`, with IPv6 hosts in brackets
 * (`[::1]:4242:uEi...`).
 *
 * An address is everything needed to dial and authenticate a peer, so it is
 * parsed strictly: an IP literal (never a hostname, so no resolver can change
 * who we reach), a port 1-65535, and a sha2-256 certhash. Nothing else may
 * appear. This file does no I/O and does not normalise the host beyond
 * unwrapping IPv4-mapped IPv6 when formatting.
 */
import { digestFromCerthash } from './certhash.js'
import { KeypinError, describe } from './errors.js'
import { checkIPv4, checkIPv6, mappedIPv4, type IpCheck } from './ip.js'

export interface KeypinAddress {
  /** IP literal, without brackets for IPv6. */
  host: string
  port: number
  /** The certhash exactly as written in the address. */
  certhash: string
  /** The 32-byte sha2-256 digest the certhash carries. */
  digest: Uint8Array
  family: 4 | 6
}

const PORT_DIGITS = /^[0-9]+$/
const WHITESPACE = /\s/

/** True for a dotted-quad IPv4 literal with octets 0-255 and no leading zeros. */
export function isIPv4(host: string): boolean {
  return typeof host === 'string' && checkIPv4(host).ok
}

/** True for an IPv6 literal without brackets and without a zone id. */
export function isIPv6(host: string): boolean {
  return typeof host === 'string' && checkIPv6(host).ok
}

/**
 * Parses `<ip>:<port>:<certhash>`. Throws `invalid-address` for a bad host,
 * port or shape, `invalid-certhash` for a bad certhash; both messages quote
 * the address.
 */
export function parseAddress(address: string): KeypinAddress {
  if (typeof address !== 'string') {
    throw new KeypinError('invalid-address', `address must be a string, got ${describe(address)}`)
  }
  const shown = quote(address)
  const bad = (problem: string): KeypinError => new KeypinError('invalid-address', `${problem} in ${shown}`)
  if (address === '') throw new KeypinError('invalid-address', 'address is empty')
  const space = WHITESPACE.exec(address)
  if (space) throw bad(`whitespace at index ${space.index} is not allowed`)

  let host: string
  let family: 4 | 6
  let rest: string
  if (address.startsWith('[')) {
    const close = address.indexOf(']')
    if (close === -1) throw bad('"[" is never closed by "]"')
    host = address.slice(1, close)
    if (address[close + 1] !== ':') throw bad('expected ":" after the "]" that ends the IPv6 host')
    rest = address.slice(close + 2)
    if (!checkIPv6(host).ok) throw bad(hostProblem(host, true))
    family = 6
  } else {
    const fields = address.split(':')
    if (fields.length > 3 && checkIPv6(fields.slice(0, -2).join(':')).ok) {
      throw bad(`IPv6 host ${JSON.stringify(fields.slice(0, -2).join(':'))} must be in brackets`)
    }
    if (fields.length !== 3) {
      throw bad(`found ${fields.length} ":"-separated fields; expected 3 (<ip>:<port>:<certhash>)`)
    }
    host = fields[0] as string
    rest = address.slice(host.length + 1)
    if (!checkIPv4(host).ok) throw bad(hostProblem(host, false))
    family = 4
  }

  const tail = rest.split(':')
  if (tail.length !== 2) {
    throw bad(`expected exactly <port>:<certhash> after the host, found ${tail.length} ":"-separated fields`)
  }
  const [portText, certhash] = tail as [string, string]
  const port = parsePort(portText, bad)
  if (certhash === '') throw bad('certhash is empty')
  let digest: Uint8Array
  try {
    digest = digestFromCerthash(certhash)
  } catch (error) {
    if (error instanceof KeypinError) {
      throw new KeypinError('invalid-certhash', `${error.message} in ${shown}`, { cause: error })
    }
    throw error
  }
  return { host, port, certhash, digest, family }
}

/**
 * Builds `<ip>:<port>:<certhash>` after validating every part. IPv6 hosts are
 * bracketed (a host already in brackets is accepted); an IPv4-mapped IPv6 host
 * is written as plain IPv4, since that is the peer the socket really reaches.
 */
export function formatAddress(parts: { host: string; port: number; certhash: string }): string {
  if (typeof parts !== 'object' || parts === null) {
    throw new KeypinError('invalid-argument', `address parts must be an object, got ${describe(parts)}`)
  }
  const { host, port, certhash } = parts
  if (typeof host !== 'string') {
    throw new KeypinError('invalid-address', `host must be a string, got ${describe(host)}`)
  }
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new KeypinError('invalid-address', `port ${describe(port)} is not an integer in range 1-65535`)
  }
  // Validates and produces the certhash's own error message.
  digestFromCerthash(certhash)

  const bracketed = host.startsWith('[') && host.endsWith(']')
  const bare = bracketed ? host.slice(1, -1) : host
  if (!bracketed && checkIPv4(host).ok) return `${host}:${port}:${certhash}`
  const v6 = checkIPv6(bare)
  if (!v6.ok) throw new KeypinError('invalid-address', hostProblem(bare, bracketed))
  const v4 = mappedIPv4(v6.value)
  if (v4 !== undefined) return `${v4}:${port}:${certhash}`
  return `[${bare}]:${port}:${certhash}`
}

/** Parses the decimal port field: digits only, no leading zero, 1-65535. */
function parsePort(text: string, bad: (problem: string) => KeypinError): number {
  if (text === '') throw bad('port is empty')
  if (!PORT_DIGITS.test(text)) throw bad(`port ${JSON.stringify(text)} is not a decimal integer`)
  if (text.length > 1 && text.startsWith('0')) throw bad(`port ${JSON.stringify(text)} has a leading zero`)
  // Length guard first so a huge digit string cannot round to an in-range number.
  const port = text.length > 5 ? Number.POSITIVE_INFINITY : Number(text)
  if (port < 1 || port > 65535) throw bad(`port ${text} is out of range 1-65535`)
  return port
}

/** Says why `host` is not an acceptable IP literal, picking the most likely intent. */
function hostProblem(host: string, bracketed: boolean): string {
  if (host === '') return 'host is empty'
  if (bracketed && checkIPv4(host).ok) return `IPv4 host ${JSON.stringify(host)} must not be in brackets`
  if (bracketed || host.includes(':')) return problemOf(checkIPv6(host))
  if (/^[0-9.]+$/.test(host)) return problemOf(checkIPv4(host))
  return `host ${JSON.stringify(host)} is not an IP literal (hostnames are not accepted; IPv6 goes in brackets)`
}

function problemOf(check: IpCheck<unknown>): string {
  return check.ok ? 'host is valid' : check.problem
}

/** Quotes untrusted text for a message, shortening very long input. */
function quote(text: string): string {
  return JSON.stringify(text.length > 120 ? `${text.slice(0, 120)}…` : text)
}
