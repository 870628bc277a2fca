/**
 * The server side of QUIC on a shared UDP socket: routes datagrams to
 * connections by destination connection ID, admits new connections from valid
 * Initial packets, answers unknown versions, and keeps unauthenticated state
 * bounded. It does not own the socket (the listener does, and demultiplexes
 * WebRTC away before QUIC sees anything).
 */
import { randomBytes } from 'node:crypto'
import { KeypinError } from '@keypin/core'
import type { KeypinConnection } from '@keypin/core/engine'
import { quiche, type QuicheConfig, type QuicheHost } from './binding.js'
import { QuicConnectionDriver, type SendPacket } from './connection-driver.js'
import type { ResolvedQuicOptions } from './options.js'

/** Length of the connection IDs this server issues (short headers carry no length). */
export const SERVER_CID_LENGTH = 16
/** RFC 9000 §14.1: a client's first Initial is padded to at least 1200 bytes. */
const MIN_INITIAL_SIZE = 1200
/** RFC 9000 §7.2: the client's first destination CID has at least 8 bytes. */
const MIN_INITIAL_DCID = 8

export interface ServerEndpointOptions {
  config: QuicheConfig
  options: ResolvedQuicOptions
  local: QuicheHost
  send: SendPacket
  onConnection(connection: KeypinConnection): void
  /** Handshakes in progress across all peers. Default 1024. */
  maxHandshakes?: number
  /** Handshakes in progress from one IP address. Default 64. */
  maxHandshakesPerHost?: number
}

export interface ServerEndpointStats {
  connections: number
  handshakes: number
  routes: number
  /** Datagrams dropped before creating any state (malformed, unknown CID, over a limit). */
  dropped: number
}

export class QuicServerEndpoint {
  readonly #init: ServerEndpointOptions
  readonly #routes = new Map<string, QuicConnectionDriver>()
  readonly #keys = new Map<QuicConnectionDriver, string[]>()
  readonly #handshakesByHost = new Map<string, number>()
  readonly #maxHandshakes: number
  readonly #maxHandshakesPerHost: number
  #handshakes = 0
  #dropped = 0
  #closed = false

  constructor(init: ServerEndpointOptions) {
    this.#init = init
    this.#maxHandshakes = init.maxHandshakes ?? 1024
    this.#maxHandshakesPerHost = init.maxHandshakesPerHost ?? 64
  }

  get stats(): ServerEndpointStats {
    return { connections: this.#keys.size, handshakes: this.#handshakes, routes: this.#routes.size, dropped: this.#dropped }
  }

  /** One datagram from the socket that the demultiplexer judged to be QUIC. */
  receive(data: Buffer, host: string, port: number): void {
    if (data.length === 0) return this.#drop()
    const route = this.#route(data)
    if (route) {
      // Also while closing: connections still need their peers' ACKs and closes.
      route.receive(data, host, port)
      return
    }
    if (this.#closed) return this.#drop()
    if ((data[0]! & 0x80) === 0) return this.#drop() // short header for a connection we do not know
    let header
    try {
      header = quiche.Header.fromSlice(data, SERVER_CID_LENGTH)
    } catch {
      return this.#drop()
    }
    if (data.length < MIN_INITIAL_SIZE) return this.#drop()
    if (!quiche.versionIsSupported(header.version)) {
      this.#negotiateVersion(header.scid, header.dcid, host, port)
      return
    }
    if (header.ty !== quiche.Type.Initial || header.dcid.length < MIN_INITIAL_DCID) return this.#drop()
    this.#accept(data, header.dcid, host, port)
  }

  /** Closes every connection with `code` and stops admitting new ones. */
  close(wireCode: number, message: string): void {
    this.#closed = true
    for (const driver of [...this.#keys.keys()]) {
      driver.connection.close({ code: wireCode, message }).catch(() => {})
    }
  }

  /** Drops whatever is left (after the graceful period) without waiting for peers. */
  destroy(): void {
    this.#closed = true
    const error = new KeypinError('closed', 'the listener was closed')
    for (const driver of [...this.#keys.keys()]) driver.destroy(error)
  }

  get connectionCount(): number {
    return this.#keys.size
  }

  #route(data: Buffer): QuicConnectionDriver | undefined {
    if ((data[0]! & 0x80) === 0) {
      if (data.length < 1 + SERVER_CID_LENGTH) return undefined
      return this.#routes.get(data.toString('latin1', 1, 1 + SERVER_CID_LENGTH))
    }
    // Long header: version (4 bytes), then the DCID length and the DCID.
    if (data.length < 6) return undefined
    const dcidLength = data[5]!
    if (dcidLength > 20 || data.length < 6 + dcidLength) return undefined
    return this.#routes.get(data.toString('latin1', 6, 6 + dcidLength))
  }

  #accept(packet: Buffer, odcid: Uint8Array, host: string, port: number): void {
    if (this.#handshakes >= this.#maxHandshakes) return this.#drop()
    const hostCount = this.#handshakesByHost.get(host) ?? 0
    if (hostCount >= this.#maxHandshakesPerHost) return this.#drop()

    const scid = randomBytes(SERVER_CID_LENGTH)
    const remote = { host, port }
    let conn
    try {
      conn = quiche.Connection.accept(scid, null, this.#init.local, remote, this.#init.config)
    } catch {
      return this.#drop()
    }
    const driver = new QuicConnectionDriver({
      role: 'server',
      conn,
      local: this.#init.local,
      remote,
      send: this.#init.send,
      options: this.#init.options,
      onDone: (done) => this.#forget(done),
    })
    // Only a packet that quiche could decrypt earns state: random bytes shaped
    // like an Initial are dropped here, leaving nothing behind.
    const accepted = driver.receive(packet, host, port)
    if (!accepted || conn.stats().recv === 0) {
      driver.destroy(new KeypinError('protocol-error', 'undecryptable Initial'))
      return this.#drop()
    }
    const keys = [Buffer.from(scid).toString('latin1'), Buffer.from(odcid).toString('latin1')]
    for (const key of keys) this.#routes.set(key, driver)
    this.#keys.set(driver, keys)
    this.#handshakes++
    this.#handshakesByHost.set(host, hostCount + 1)
    driver.established.then(
      (connection) => {
        this.#endHandshake(host)
        this.#init.onConnection(connection)
      },
      () => this.#endHandshake(host),
    )
  }

  #endHandshake(host: string): void {
    this.#handshakes--
    const count = (this.#handshakesByHost.get(host) ?? 1) - 1
    if (count <= 0) this.#handshakesByHost.delete(host)
    else this.#handshakesByHost.set(host, count)
  }

  #forget(driver: QuicConnectionDriver): void {
    for (const key of this.#keys.get(driver) ?? []) {
      if (this.#routes.get(key) === driver) this.#routes.delete(key)
    }
    this.#keys.delete(driver)
  }

  #negotiateVersion(scid: Uint8Array, dcid: Uint8Array, host: string, port: number): void {
    const out = Buffer.allocUnsafe(MIN_INITIAL_SIZE)
    try {
      const length = quiche.negotiateVersion(scid, dcid, out)
      this.#init.send(out.subarray(0, length), host, port)
    } catch {
      this.#drop()
    }
  }

  #drop(): void {
    this.#dropped++
  }
}
