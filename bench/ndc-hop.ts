/**
 * The `ndc-relayed` baseline's relay hop: a bare JavaScript UDP relay in the
 * server child, shaped like Keypin's WebRTC path but with none of its code.
 *
 * One "public" socket on loopback is what every client talks to (the child
 * rewrites its peer connections' candidates to point here). Each client
 * source address gets a loopback relay socket of its own, connected to the
 * ICE port of the peer connection its first ICE check names; datagrams from
 * the client are sent on from that relay socket, and what the peer connection
 * sends to the relay socket goes back to the client from the public socket.
 * So the child's peer connection only ever sees the relay socket, and every
 * datagram crosses loopback twice on the server, as with Keypin.
 *
 * As Keypin does, the peer connection knows the relay socket as the remote
 * (host) candidate from the start: the hop keeps one relay socket bound in
 * advance, `addPeer` hands it out for the offer, and the first client source
 * that names the peer is attached to it. Left to learn the relay socket as a
 * peer-reflexive candidate, or told it only when the first check arrives,
 * libjuice's controlled agent often reports ICE connected about 50 ms later
 * (its next check slot): a dial latency cost of ICE, not of the hop. Only if
 * no socket was ready (or a peer has a second client source) is one opened on
 * demand and announced through `onRelay`.
 *
 * The hop moves bytes as they come: no batching, no inspection beyond the
 * first check of a new source, no queue beyond a socket not yet wired up.
 */
import dgram from 'node:dgram'
import type { RelayStats } from './common.js'
import { RelaySocket } from './ndc-relay-socket.js'
import { checkTargetUfrag } from './ndc-text.js'

const LOOPBACK = '127.0.0.1'

/** Keypin's listener asks for 4 MiB kernel buffers on its public socket; so does the hop (best effort, capped by the kernel). */
const PUBLIC_BUFFER_BYTES = 4 * 1024 * 1024

/** One child peer connection as the hop knows it. */
interface HopPeer {
  /** From the child's answer: ICE checks from the client name it. */
  ufrag: string | undefined
  /** The peer connection's own ICE port, from its real host candidate. */
  icePort: number | undefined
  /** Its relay sockets; at most one (the one in its offer) has no client source yet. */
  relays: Set<RelaySocket>
  /** Called with the port of a relay socket opened on demand, once it is wired up. */
  onRelay: (port: number) => void
  /** Set by removePeer: its peer connection is closed and must not be called any more. */
  removed: boolean
}

export class RelayHop {
  /** The public socket's port: what the client is told the child's peer connection listens on. */
  readonly port: number
  readonly host = LOOPBACK
  readonly #public: dgram.Socket
  readonly #peers = new Map<number, HopPeer>()
  /** Client source `address:port` → its relay socket. */
  readonly #sources = new Map<string, RelaySocket>()
  readonly #counters: RelayStats = { toPeer: 0, toClient: 0, unrouted: 0, sockets: 0, viaHop: 0, bypassed: 0 }
  /** A relay socket bound ahead of the next peer; undefined while one is binding. */
  #spare: RelaySocket | undefined

  private constructor(socket: dgram.Socket) {
    this.#public = socket
    this.port = socket.address().port
    socket.on('message', (packet, from) => this.#fromClient(packet, from))
    socket.on('error', () => {})
    this.#bindSpare()
  }

  static async open(): Promise<RelayHop> {
    const socket = dgram.createSocket('udp4')
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind(0, LOOPBACK, () => {
        socket.off('error', reject)
        resolve()
      })
    })
    for (const set of [socket.setRecvBufferSize, socket.setSendBufferSize]) {
      try {
        set.call(socket, PUBLIC_BUFFER_BYTES)
      } catch {
        // Refused by the platform: keep its default.
      }
    }
    return new RelayHop(socket)
  }

  /**
   * A new child peer connection. Returns the port of the relay socket bound
   * for it, to be its remote candidate in the offer, or undefined if none was
   * ready (then `onRelay` announces the one opened at the client's first check).
   */
  addPeer(conn: number, onRelay: (port: number) => void): number | undefined {
    const peer: HopPeer = { ufrag: undefined, icePort: undefined, relays: new Set(), onRelay, removed: false }
    this.#peers.set(conn, peer)
    const relay = this.#spare
    if (relay === undefined) return undefined
    this.#spare = undefined
    this.#bindSpare()
    this.#counters.sockets++
    peer.relays.add(relay)
    return relay.port
  }

  /** The child's answer for `conn` carried this ufrag. */
  setUfrag(conn: number, ufrag: string): void {
    const peer = this.#peers.get(conn)
    if (peer) peer.ufrag = ufrag
  }

  /** `conn`'s peer connection gathered a host candidate on this port; the first one is where its relay sockets connect. */
  setIcePort(conn: number, port: number): void {
    const peer = this.#peers.get(conn)
    if (!peer || peer.icePort !== undefined) return
    peer.icePort = port
    for (const relay of peer.relays) relay.connect(port)
  }

  /** Records how `conn` connected: through one of its relay sockets (its selected remote port), or not. */
  noteConnected(conn: number, remotePort: number | undefined): boolean {
    const viaHop = [...(this.#peers.get(conn)?.relays ?? [])].some((relay) => relay.port === remotePort)
    if (viaHop) this.#counters.viaHop++
    else this.#counters.bypassed++
    return viaHop
  }

  /** Closes `conn`'s relay sockets and forgets it. */
  removePeer(conn: number): void {
    const peer = this.#peers.get(conn)
    if (!peer) return
    this.#peers.delete(conn)
    peer.removed = true
    for (const relay of peer.relays) {
      relay.close()
      if (relay.source !== undefined) this.#sources.delete(relay.source)
    }
  }

  get stats(): RelayStats {
    return { ...this.#counters }
  }

  #bindSpare(): void {
    const relay = new RelaySocket(this.#counters)
    relay.bound.then(
      () => {
        this.#spare = relay
      },
      // No spare: the next peer gets its relay socket on demand.
      () => relay.close(),
    )
  }

  #fromClient(packet: Buffer, from: dgram.RemoteInfo): void {
    const key = `${from.address}:${from.port}`
    const known = this.#sources.get(key)
    if (known !== undefined) {
      known.toPeer(packet)
      return
    }
    // A new source: its first datagram is an ICE check naming the child's ufrag.
    const ufrag = checkTargetUfrag(packet)
    const peer = ufrag === undefined ? undefined : [...this.#peers.values()].find((p) => p.ufrag === ufrag)
    if (peer?.icePort === undefined) {
      this.#counters.unrouted++
      return
    }
    const toClient = (reply: Buffer): void => this.#public.send(reply, from.port, from.address)
    const waiting = [...peer.relays].find((relay) => relay.source === undefined)
    if (waiting !== undefined) {
      waiting.attach(key, toClient)
      this.#sources.set(key, waiting)
      waiting.toPeer(packet)
      return
    }
    const icePort = peer.icePort
    const relay = new RelaySocket(this.#counters)
    relay.attach(key, toClient)
    relay.toPeer(packet)
    this.#counters.sockets++
    peer.relays.add(relay)
    this.#sources.set(key, relay)
    // Announced before the held check goes through it, so the peer connection knows the address.
    relay.bound.then(
      () => {
        if (peer.removed) return
        peer.onRelay(relay.port)
        relay.connect(icePort)
      },
      () => relay.close(),
    )
  }
}
