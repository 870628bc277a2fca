/**
 * Malformed datagrams for the listener fuzzer, drawn from a seeded Prng so
 * that a run can be replayed. Each generator aims at one stage of the
 * listener's per-datagram path:
 *   - the demultiplexer: random bytes, STUN look-alikes, DTLS records;
 *   - the STUN guard: requests whose MESSAGE-INTEGRITY was made without the
 *     certhash, with broken lengths and attributes, with invalid or huge ICE
 *     ufrags (keyed WITH the certhash-derived password, so that only the
 *     syntax check stands between them and node-datachannel), and genuine
 *     requests with one bit flipped (in what MESSAGE-INTEGRITY covers, or
 *     in FINGERPRINT);
 *   - QUIC: long and short headers with random fields, Initials of 1200+
 *     bytes with random (undecryptable) content, and bit-flipped copies of a
 *     real client Initial.
 * `authenticatedRequest` builds the one kind that passes the STUN guard; the
 * fuzzer sends it only from a few sources, to fuzz node-datachannel behind
 * the guard as an attacker who knows the address can.
 *
 * Not a test file.
 */
import { createHmac } from 'node:crypto'
import { buildBindingRequest } from '@keypin/core'
import type { Prng } from './prng.js'

const ICE_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const VALID_UFRAG = /^[A-Za-z0-9+/]{4,256}$/
const NON_ICE_CHARS = ['-', '_', ' ', '=', ':', '.', '\u0000', '\r', '\n', 'é', '€', '\u{1f511}', '"', '\\', '%', '\u202e']
const STUN_COOKIE = [0x21, 0x12, 0xa4, 0x42]
const MESSAGE_INTEGRITY = 0x0008
const QUIC_V1 = 0x00000001

export interface FuzzTarget {
  /** The listener's certificate digest (what the certhash names). */
  digest: Uint8Array
  /** A client Initial captured from a real dial to this listener. */
  initial: Uint8Array
  /** Where the Initial packet ends inside that datagram (padding may follow). */
  initialEnd: number
}

export interface FuzzPacket {
  kind: string
  bytes: Uint8Array
}

type Generator = (prng: Prng, target: FuzzTarget) => Uint8Array

/** ICE password derivation (SPEC 4b) for any string, valid ufrag or not. */
export function derivePassword(digest: Uint8Array, ufrag: string): string {
  return createHmac('sha256', digest).update(`kps-ice-pwd-v1:${ufrag}`).digest('base64').replace(/=+$/, '')
}

function iceString(prng: Prng, min: number, max: number): string {
  return prng.string(prng.int(min, max + 1), ICE_CHARS)
}

function request(prng: Prng, username: string, password: string): Uint8Array {
  return buildBindingRequest({
    username,
    password,
    transactionId: prng.bytes(12),
    iceControlling: (BigInt(prng.u32()) << 32n) | BigInt(prng.u32()),
    useCandidate: prng.chance(0.5),
  })
}

/** A genuine request (valid ufrags, keyed with the certhash-derived password), classic or no-munge. */
export function authenticatedRequest(prng: Prng, digest: Uint8Array): Uint8Array {
  if (prng.chance(0.5)) {
    const ufrag = iceString(prng, 4, 64)
    return request(prng, `${ufrag}:${ufrag}`, derivePassword(digest, ufrag))
  }
  const serverUfrag = iceString(prng, 22, 64)
  return request(prng, `${serverUfrag}:${iceString(prng, 4, 32)}`, derivePassword(digest, serverUfrag))
}

/** An invalid ICE ufrag: too short, too long (up to "huge"), empty, or with a character outside ice-char. */
function badUfrag(prng: Prng): string {
  const ufrag = anyBadUfrag(prng)
  // The mixed alphabet can come out all ice-chars: such a draw is made invalid.
  return VALID_UFRAG.test(ufrag) ? ufrag + prng.pick(NON_ICE_CHARS) : ufrag
}

function anyBadUfrag(prng: Prng): string {
  switch (prng.int(0, 4)) {
    case 0:
      return iceString(prng, 0, 3)
    case 1:
      return iceString(prng, 257, prng.chance(0.2) ? 4000 : 600)
    case 2: {
      const good = iceString(prng, 4, 40)
      const at = prng.int(0, good.length + 1)
      return good.slice(0, at) + prng.pick(NON_ICE_CHARS) + good.slice(at)
    }
    default:
      return prng.string(prng.int(1, 40), ICE_CHARS + NON_ICE_CHARS.join(''))
  }
}

/** Offset just past the MESSAGE-INTEGRITY value of a well-formed request built by `request`. */
function integrityEnd(bytes: Uint8Array): number {
  let offset = 20
  while (offset + 4 <= bytes.length) {
    const type = (bytes[offset]! << 8) | bytes[offset + 1]!
    const length = (bytes[offset + 2]! << 8) | bytes[offset + 3]!
    if (type === MESSAGE_INTEGRITY) return offset + 4 + length
    offset += 4 + ((length + 3) & ~3)
  }
  return bytes.length
}

/** Flips `flips` distinct bits in `bytes[from, to)` (distinct, so that two flips never cancel out). */
function flipBits(prng: Prng, bytes: Uint8Array, from: number, to: number, flips: number): Uint8Array {
  const copy = Uint8Array.from(bytes)
  const flipped = new Set<number>()
  while (flipped.size < Math.min(flips, (to - from) * 8)) {
    const bit = prng.int(from * 8, to * 8)
    if (flipped.has(bit)) continue
    flipped.add(bit)
    copy[bit >> 3] = copy[bit >> 3]! ^ (1 << (bit & 7))
  }
  return copy
}

function varint(value: number): number[] {
  if (value < 0x40) return [value]
  if (value < 0x4000) return [0x40 | (value >> 8), value & 0xff]
  return [0x80 | ((value >>> 24) & 0x3f), (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff]
}

function u32(value: number): number[] {
  return [(value >>> 24) & 0xff, (value >>> 16) & 0xff, (value >>> 8) & 0xff, value & 0xff]
}

function concat(parts: Array<number[] | Uint8Array>): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

const generators: Record<string, { weight: number; make: Generator }> = {
  'random bytes': {
    weight: 12,
    make: (prng) => prng.bytes(prng.chance(0.2) ? prng.int(1, 25) : prng.int(1, 1501)),
  },
  'STUN header, random body': {
    weight: 8,
    make: (prng) => {
      const body = prng.bytes(prng.chance(0.7) ? prng.int(0, 100) * 4 : prng.int(0, 600))
      // Right, wrong or absurd declared length; any type with the top two bits clear.
      const declared = prng.pick([body.length, body.length + 4, Math.max(0, body.length - 4), prng.int(0, 65536)])
      return concat([[prng.int(0, 0x40), prng.int(0, 256), declared >> 8, declared & 0xff], STUN_COOKIE, prng.bytes(12), body])
    },
  },
  'STUN keyed without the certhash': {
    weight: 8,
    make: (prng) => {
      const wrongDigest = prng.bytes(32)
      if (prng.chance(0.5)) {
        const ufrag = iceString(prng, 4, 64)
        return request(prng, `${ufrag}:${ufrag}`, prng.chance(0.5) ? derivePassword(wrongDigest, ufrag) : iceString(prng, 22, 64))
      }
      const serverUfrag = iceString(prng, 22, 64)
      return request(prng, `${serverUfrag}:${iceString(prng, 4, 32)}`, derivePassword(wrongDigest, serverUfrag))
    },
  },
  'STUN with invalid or huge ufrags (keyed with the certhash)': {
    weight: 10,
    make: (prng, { digest }) => {
      const shapes = [
        () => `${badUfrag(prng)}:${iceString(prng, 4, 32)}`,
        () => `${iceString(prng, 22, 64)}:${badUfrag(prng)}`,
        () => `${badUfrag(prng)}:${badUfrag(prng)}`,
        () => iceString(prng, 4, 64), // no colon
        () => `${iceString(prng, 4, 20)}:${iceString(prng, 4, 20)}:${iceString(prng, 4, 20)}`,
        // Authenticated, valid ufrags, but a no-munge server ufrag too short to be a password
        // (the halves differ, or it would be a valid classic request).
        () => {
          const server = iceString(prng, 4, 21)
          const dialer = iceString(prng, 4, 32)
          return `${server}:${dialer === server ? `${dialer}x` : dialer}`
        },
      ]
      const username = prng.pick(shapes)()
      const first = username.split(':')[0] ?? ''
      return request(prng, username, derivePassword(digest, first))
    },
  },
  'STUN genuine but one bit flipped': {
    weight: 10,
    make: (prng, { digest }) => {
      const genuine = authenticatedRequest(prng, digest)
      // Mostly where MESSAGE-INTEGRITY covers it; sometimes in FINGERPRINT, which it does not.
      const end = integrityEnd(genuine)
      return prng.chance(0.8) ? flipBits(prng, genuine, 0, end, 1) : flipBits(prng, genuine, end, genuine.length, 1)
    },
  },
  'STUN with broken attributes': {
    weight: 6,
    make: (prng, { digest }) => {
      const genuine = authenticatedRequest(prng, digest)
      const copy = Uint8Array.from(genuine)
      switch (prng.int(0, 5)) {
        case 0: // an attribute length that overruns the message
          copy[22] = 0xff
          copy[23] = prng.int(0, 256)
          return copy
        case 1: // truncated anywhere
          return genuine.subarray(0, prng.int(20, genuine.length))
        case 2: {
          // MESSAGE-INTEGRITY shortened to 16 bytes, message length kept consistent
          const end = integrityEnd(genuine)
          const out = concat([genuine.subarray(0, end - 4), genuine.subarray(end)])
          out[end - 24 + 3] = 16
          const length = out.length - 20
          out[2] = length >> 8
          out[3] = length & 0xff
          return out
        }
        case 3: {
          // unknown comprehension-required attributes appended after the header
          const extra = concat([[prng.int(0, 0x80), prng.int(0, 256), 0, 8], prng.bytes(8)])
          const out = concat([genuine.subarray(0, 20), extra, genuine.subarray(20)])
          const length = out.length - 20
          out[2] = length >> 8
          out[3] = length & 0xff
          return out
        }
        default: // declared length off by a multiple of 4
          copy[3] = (copy[3]! + 4 * prng.int(1, 10)) & 0xff
          return copy
      }
    },
  },
  'DTLS records': {
    weight: 10,
    make: (prng) => {
      const records: Uint8Array[] = []
      for (let i = prng.int(1, 4); i > 0; i--) {
        const handshake = prng.chance(0.4)
        const body = handshake
          ? concat([[1], u32(prng.int(0, 1 << 24)).slice(1), [prng.int(0, 256), prng.int(0, 256)], u32(prng.u32()).slice(1), u32(prng.u32()).slice(1), prng.bytes(prng.int(0, 300))])
          : prng.bytes(prng.int(0, 600))
        const declared = prng.chance(0.6) ? body.length : prng.int(0, 65536)
        const type = prng.chance(0.7) ? prng.pick([20, 21, 22, 23]) : prng.int(20, 64)
        const version = prng.pick([[0xfe, 0xfd], [0xfe, 0xff], [prng.int(0, 256), prng.int(0, 256)]])
        records.push(concat([[type], version, prng.bytes(8), [declared >> 8, declared & 0xff], body]))
      }
      return concat(records)
    },
  },
  'QUIC long header, random fields': {
    weight: 12,
    make: (prng) => {
      const version = prng.pick([QUIC_V1, QUIC_V1, 0x6b3343cf, 0, 0xff00001d, 0x1a2a3a4a, prng.u32()])
      const dcidLength = prng.chance(0.8) ? prng.int(0, 21) : prng.int(0, 256)
      const scidLength = prng.chance(0.8) ? prng.int(0, 21) : prng.int(0, 256)
      const header = concat([[0x80 | prng.int(0, 0x80)], u32(version), [dcidLength], prng.bytes(dcidLength), [scidLength], prng.bytes(scidLength)])
      const tokenLength = prng.chance(0.7) ? 0 : prng.int(0, 2000)
      const payload = prng.bytes(prng.chance(0.3) ? prng.int(1200, 1450) - header.length : prng.int(0, 400))
      const declared = prng.chance(0.5) ? payload.length : prng.int(0, 1 << 20)
      return concat([header, varint(tokenLength), prng.bytes(Math.min(tokenLength, 64)), varint(declared), payload])
    },
  },
  'QUIC short header': {
    weight: 10,
    make: (prng) => concat([[0x40 | prng.int(0, 0x40)], prng.bytes(prng.chance(0.2) ? prng.int(0, 20) : prng.int(16, 1450))]),
  },
  'QUIC Initial of 1200+ bytes, random content': {
    weight: 10,
    make: (prng) => {
      const dcidLength = prng.int(8, 21)
      const scidLength = prng.int(0, 21)
      const header = concat([[0xc0 | prng.int(0, 16)], u32(QUIC_V1), [dcidLength], prng.bytes(dcidLength), [scidLength], prng.bytes(scidLength), [0]])
      const total = prng.int(1200, 1451)
      const length = total - header.length - 2
      return concat([header, [0x40 | (length >> 8), length & 0xff], prng.bytes(length)])
    },
  },
  'real client Initial with bits flipped': {
    weight: 8,
    make: (prng, { initial, initialEnd }) => flipBits(prng, initial, 0, prng.chance(0.3) ? Math.min(64, initialEnd) : initialEnd, prng.int(1, 5)),
  },
}

const entries = Object.entries(generators)
const totalWeight = entries.reduce((sum, [, g]) => sum + g.weight, 0)

/** The kinds `malformedDatagram` draws from. */
export const FUZZ_KINDS = entries.map(([kind]) => kind)

/** One malformed datagram of a kind chosen by weight. */
export function malformedDatagram(prng: Prng, target: FuzzTarget): FuzzPacket {
  let pick = prng.next() * totalWeight
  for (const [kind, generator] of entries) {
    pick -= generator.weight
    if (pick < 0) return { kind, bytes: generator.make(prng, target) }
  }
  const [kind, generator] = entries[0]!
  return { kind, bytes: generator.make(prng, target) }
}

/** RFC 9000 17.2: where the first long-header packet of a datagram ends. */
export function firstPacketEnd(datagram: Uint8Array): number {
  const readVarint = (offset: number): [number, number] => {
    const first = datagram[offset]!
    const length = 1 << (first >> 6)
    let value = first & 0x3f
    for (let i = 1; i < length; i++) value = value * 256 + datagram[offset + i]!
    return [value, length]
  }
  let offset = 5
  offset += 1 + datagram[offset]!
  offset += 1 + datagram[offset]!
  const [tokenLength, tokenBytes] = readVarint(offset)
  offset += tokenBytes + tokenLength
  const [length, lengthBytes] = readVarint(offset)
  return offset + lengthBytes + length
}
