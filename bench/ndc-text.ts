/**
 * The bits of ICE text and STUN wire format the `ndc-relayed` baseline reads
 * or writes: candidate lines (to point the client at the relay hop's public
 * socket, and the child at a relay socket), the answer's ICE ufrag, and the ufrag an ICE check is addressed to
 * (to route a new client source to its peer connection). Pure functions.
 */

/** A UDP candidate's transport address, as written in its candidate line. */
export interface CandidateAddress {
  address: string
  port: number
}

/**
 * Candidate lines look like `a=candidate:1 1 UDP 2114977791 127.0.0.1 49942 typ host`
 * (RFC 8839 5.1; node-datachannel emits the `a=` prefix, browsers do not).
 * Fields after the `candidate:` prefix: foundation, component, transport,
 * priority, address, port, `typ`, type, extensions.
 */
const CANDIDATE_PREFIX = /^(a=)?candidate:/
const ADDRESS_FIELD = 4
const PORT_FIELD = 5

/** The transport address of a UDP candidate line; undefined for TCP or text it cannot read. */
export function candidateAddress(candidate: string): CandidateAddress | undefined {
  const fields = candidateFields(candidate)
  if (fields === undefined) return undefined
  return { address: fields.body[ADDRESS_FIELD] as string, port: Number(fields.body[PORT_FIELD]) }
}

/** The same UDP candidate line with its address and port replaced; undefined where candidateAddress() is. */
export function withCandidateAddress(candidate: string, to: CandidateAddress): string | undefined {
  const fields = candidateFields(candidate)
  if (fields === undefined) return undefined
  const body = [...fields.body]
  body[ADDRESS_FIELD] = to.address
  body[PORT_FIELD] = String(to.port)
  return `${fields.prefix}${body.join(' ')}`
}

function candidateFields(candidate: string): { prefix: string; body: string[] } | undefined {
  const prefix = CANDIDATE_PREFIX.exec(candidate)?.[0]
  if (prefix === undefined) return undefined
  const body = candidate.slice(prefix.length).trim().split(/\s+/)
  const port = Number(body[PORT_FIELD])
  if (body.length < 8 || body[2]?.toUpperCase() !== 'UDP' || !Number.isInteger(port) || port <= 0 || port > 65_535) return undefined
  return { prefix, body }
}

/** Host candidate priority (RFC 8445 5.1.2.1): type preference 126, local preference 65535, component 1. */
const HOST_PRIORITY = 126 * 2 ** 24 + 65535 * 2 ** 8 + (256 - 1)

/** A UDP host candidate line for `at`, in node-datachannel's form. */
export function hostCandidate(at: CandidateAddress): string {
  return `a=candidate:1 1 UDP ${HOST_PRIORITY} ${at.address} ${at.port} typ host`
}

/** The SDP with `candidate` (a full `a=candidate:` line) added at the end of its (single) media section. */
export function withCandidate(sdp: string, candidate: string): string {
  const lines = sdp.split('\r\n')
  let end = lines.length
  while (end > 0 && lines[end - 1] === '') end--
  lines.splice(end, 0, candidate)
  return lines.join('\r\n')
}

/**
 * The SDP without its candidate lines. node-datachannel trickles every
 * candidate through onLocalCandidate anyway; one that was also written into a
 * description must not reach the other side unrewritten (child's) or at all
 * (client's), or the peers could find each other without the hop.
 */
export function withoutCandidates(sdp: string): string {
  return sdp
    .split('\r\n')
    .filter((line) => !line.startsWith('a=candidate:'))
    .join('\r\n')
}

/** The first media section's mid (`a=mid:`): the one every candidate belongs to under BUNDLE. */
export function firstMid(sdp: string): string | undefined {
  return /^a=mid:(\S+)/m.exec(sdp)?.[1]
}

/** The session's ICE username fragment (`a=ice-ufrag:`), undefined if the SDP has none. */
export function iceUfrag(sdp: string): string | undefined {
  return /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1]
}

const STUN_HEADER = 20
const STUN_MAGIC_COOKIE = 0x2112a442
const STUN_BINDING_REQUEST = 0x0001
const STUN_USERNAME = 0x0006

/**
 * The ufrag an ICE connectivity check is addressed to: a STUN Binding
 * request's USERNAME is `<receiver's ufrag>:<sender's ufrag>` (RFC 8445
 * 7.2.2). Undefined for anything else (DTLS, other STUN, malformed input).
 */
export function checkTargetUfrag(packet: Buffer): string | undefined {
  if (packet.length < STUN_HEADER || packet.readUInt16BE(0) !== STUN_BINDING_REQUEST || packet.readUInt32BE(4) !== STUN_MAGIC_COOKIE) return undefined
  const end = Math.min(packet.length, STUN_HEADER + packet.readUInt16BE(2))
  for (let offset = STUN_HEADER; offset + 4 <= end; ) {
    const type = packet.readUInt16BE(offset)
    const length = packet.readUInt16BE(offset + 2)
    const value = offset + 4
    if (value + length > end) return undefined
    if (type === STUN_USERNAME) {
      const username = packet.toString('utf8', value, value + length)
      const colon = username.indexOf(':')
      return colon > 0 ? username.slice(0, colon) : undefined
    }
    // Attribute values are padded to a multiple of 4 bytes.
    offset = value + ((length + 3) & ~3)
  }
  return undefined
}
