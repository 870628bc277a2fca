/**
 * A man in the middle for the WebRTC pin tests: a UDP proxy that knows the
 * certhash the dialer pins (anyone can: it is in the address) but forwards
 * to a listener with a different certificate. Knowing the certhash is enough
 * to derive the ICE passwords, so it re-signs STUN both ways and ICE
 * succeeds; only DTLS, which checks the certificate itself, can stop it.
 * Everything that is not STUN passes untouched.
 */
import dgram from 'node:dgram'
import {
  deriveIcePassword,
  getUsername,
  parseStunMessage,
  resignStunMessage,
  splitIceUsername,
  stunShortTermKey,
} from '@keypin/core'
import { isStunMessage } from '@keypin/server'

const BINDING_REQUEST = 0x0001
const BINDING_SUCCESS = 0x0101

interface Upstream {
  socket: dgram.Socket
  /** From the dialer's first Binding request: the server's ufrag, and whether the halves were equal. */
  serverUfrag?: string
  classic: boolean
}

export interface MitmProxy {
  port: number
  /** STUN messages re-signed (both directions). */
  resigned: number
  close(): void
}

/**
 * Listens on 127.0.0.1; the dialer believes the server's digest is
 * `pinnedDigest`, the real listener at `upstreamPort` has `realDigest`.
 */
export async function startMitmProxy(upstreamPort: number, pinnedDigest: Uint8Array, realDigest: Uint8Array): Promise<MitmProxy> {
  const front = dgram.createSocket('udp4')
  await new Promise<void>((resolve) => front.bind(0, '127.0.0.1', resolve))
  front.on('error', () => {})
  /** One upstream socket per dialer address, so the listener sees distinct peers. */
  const upstreams = new Map<string, Upstream>()
  const proxy: MitmProxy = {
    port: front.address().port,
    resigned: 0,
    close() {
      front.close()
      for (const { socket } of upstreams.values()) socket.close()
    },
  }
  /**
   * Re-signs what is keyed with a password derived from the certhash. In the
   * classic handshake both passwords are (USERNAME halves equal), so every
   * STUN message changes; in the no-munge one only the server's is: the
   * dialer's Binding requests and the server's success responses to them.
   * Checks the server sends (and their answers) use the dialer's own password.
   */
  const resign = (packet: Buffer, entry: Upstream, digest: Uint8Array, type: number): Buffer => {
    if (!isStunMessage(packet) || entry.serverUfrag === undefined) return packet
    if (!entry.classic && packet.readUInt16BE(0) !== type) return packet
    proxy.resigned++
    return Buffer.from(resignStunMessage(packet, { key: stunShortTermKey(deriveIcePassword(digest, entry.serverUfrag)) }))
  }
  front.on('message', (packet, from) => {
    const key = `${from.address}:${from.port}`
    let upstream = upstreams.get(key)
    if (upstream === undefined) {
      const socket = dgram.createSocket('udp4')
      socket.on('error', () => {})
      const entry: Upstream = { socket, classic: false }
      upstream = entry
      upstreams.set(key, entry)
      socket.bind(0, '127.0.0.1')
      // Answers from the real listener were signed with its password; the dialer checks them against the pinned one.
      socket.on('message', (answer) => front.send(resign(answer, entry, pinnedDigest, BINDING_SUCCESS), from.port, from.address))
    }
    if (isStunMessage(packet) && packet.readUInt16BE(0) === BINDING_REQUEST) {
      const username = getUsername(parseStunMessage(packet))
      const halves = username === null ? null : splitIceUsername(username)
      if (halves) {
        upstream.serverUfrag = halves.local
        upstream.classic = halves.local === halves.remote
      }
    }
    upstream.socket.send(resign(packet, upstream, realDigest, BINDING_REQUEST), upstreamPort, '127.0.0.1')
  })
  return proxy
}
