/**
 * One relay socket of the `ndc-relayed` hop (ndc-hop.ts): a loopback UDP
 * socket standing for one client source towards one child peer connection.
 *
 * It is wired up in three independent steps, in whatever order they happen:
 * bound (its port can be given to the peer connection), connected to the
 * peer connection's ICE port (datagrams from the client can go through), and
 * attached to a client source (what the peer connection sends can go back).
 * Until a direction is wired, its datagrams wait in a small queue; ICE
 * retransmits anything beyond.
 */
import dgram from 'node:dgram'
import type { RelayStats } from './common.js'

const LOOPBACK = '127.0.0.1'

/** Datagrams held per direction while it is not wired up yet. */
const MAX_HELD = 64

export class RelaySocket {
  /** Settles once the socket is bound; `port` is valid from then on. */
  readonly bound: Promise<void>
  /** The relay socket's own port: the address the peer connection sees as the client's. */
  port = 0
  /** The client source `address:port` it stands for, once attached. */
  source: string | undefined
  readonly #socket = dgram.createSocket('udp4')
  readonly #counters: RelayStats
  #toClient: ((packet: Buffer) => void) | undefined
  #connected = false
  #toPeerHeld: Buffer[] = []
  #toClientHeld: Buffer[] = []
  #open = true

  constructor(counters: RelayStats) {
    this.#counters = counters
    this.bound = new Promise<void>((resolve, reject) => {
      this.#socket.once('error', reject)
      this.#socket.bind(0, LOOPBACK, () => {
        this.#socket.off('error', reject)
        if (!this.#open) return
        this.port = this.#socket.address().port
        resolve()
      })
    })
    this.bound.catch(() => {})
    this.#socket.on('message', (packet) => this.#fromPeer(packet))
    // ICMP port-unreachable and the like: packet loss, never fatal.
    this.#socket.on('error', () => {})
  }

  /**
   * Connects to the peer connection's ICE port: from then on the kernel
   * delivers only what it sends, and each send skips the address lookup (as
   * Keypin's relay sockets do). Held client datagrams go through then.
   */
  connect(icePort: number): void {
    void this.bound.then(() => {
      if (!this.#open) return
      this.#socket.connect(icePort, LOOPBACK, () => {
        if (!this.#open) return
        this.#connected = true
        for (const packet of this.#toPeerHeld.splice(0)) this.#sendToPeer(packet)
      })
    })
  }

  /** Binds it to the client source `source`; `toClient` sends from the public socket. */
  attach(source: string, toClient: (packet: Buffer) => void): void {
    this.source = source
    this.#toClient = toClient
    for (const packet of this.#toClientHeld.splice(0)) this.#sendToClient(toClient, packet)
  }

  /** One datagram from the client. */
  toPeer(packet: Buffer): void {
    if (!this.#open) return
    if (this.#connected) this.#sendToPeer(packet)
    else if (this.#toPeerHeld.length < MAX_HELD) this.#toPeerHeld.push(packet)
  }

  close(): void {
    if (!this.#open) return
    this.#open = false
    this.#toPeerHeld = []
    this.#toClientHeld = []
    this.#socket.close()
  }

  #fromPeer(packet: Buffer): void {
    const toClient = this.#toClient
    if (toClient !== undefined) this.#sendToClient(toClient, packet)
    else if (this.#toClientHeld.length < MAX_HELD) this.#toClientHeld.push(packet)
  }

  #sendToPeer(packet: Buffer): void {
    this.#counters.toPeer++
    // No callback: a failed send is packet loss, reported (and ignored) as an 'error' event.
    this.#socket.send(packet)
  }

  #sendToClient(toClient: (packet: Buffer) => void, packet: Buffer): void {
    this.#counters.toClient++
    toClient(packet)
  }
}
