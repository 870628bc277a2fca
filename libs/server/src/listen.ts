/**
 * listen(): one UDP socket, one identity, every transport. The listener owns
 * the socket, demultiplexes each datagram, and queues established
 * connections for accept(). QUIC runs directly on the socket; WebRTC
 * (webrtc/) receives STUN and its known peers' datagrams and sends through it.
 */
import dgram from 'node:dgram'
import { isIP } from 'node:net'
import { KeypinError, describe, formatAddress, reasonToWire, type Connection, type HostPort, type Listener, type Reason, type SignalOptions } from '@keypin/core'
import { WaitQueue } from '@keypin/core/engine'
import { QuicServerEndpoint, enlargeSocketBuffers, resolveQuicOptions, serverConfig, unmapIPv4, type QuicOptions, type ServerEndpointStats } from '@keypin/quic'
import { classifyDatagram, type WebRtcHandler, type WebRtcStats } from './demux.js'
import { generateIdentity, loadOrCreateIdentity, type Identity } from './identity.js'
import { resolveWebRtcServerOptions, type WebRtcServerOptions } from './webrtc/options.js'
import { WebRtcServer } from './webrtc/server.js'

export interface ListenOptions extends QuicOptions {
  /** IP to bind: an IPv4 or IPv6 literal; `::` is dual-stack. Default `127.0.0.1`. */
  host?: string
  /** UDP port; 0 picks a free one. Default 0. */
  port?: number
  /** The certificate and key to present. */
  identity?: Identity
  /** Load (or create, mode 0600) the identity from this file; the certhash survives restarts. */
  identityFile?: string
  /** Established connections waiting for accept() before new ones are refused with `queue-full`. Default 128. */
  backlog?: number
  /** Handshakes in progress, all peers together. Default 1024. */
  maxHandshakes?: number
  /** Handshakes in progress from one IP. Default 64. */
  maxHandshakesPerHost?: number
  /** How long close() waits for connections to finish closing before dropping them (ms). Default 2000. */
  closeTimeout?: number
  /**
   * WebRTC (browsers) on the same port, with its own handshake limits;
   * `false` serves QUIC only, `true` is the same as `{}`. Default: on. The
   * stream windows, stream limit and datagram queue options above apply to
   * WebRTC connections too.
   */
  webrtc?: boolean | WebRtcServerOptions
}

export interface ListenerStats extends ServerEndpointStats, WebRtcStats {
  /** Established connections not yet accepted. */
  backlog: number
}

/**
 * Binds one UDP socket and starts serving.
 *
 * @example
 * const listener = await listen({ host: '127.0.0.1', port: 4242, identityFile: '.keypin/identity.pem' })
 * console.log(listener.address) // 127.0.0.1:4242:uEi...
 * for await (const conn of listener) {
 *   const stream = await conn.acceptStream()
 *   void stream.readable.pipeTo(stream.writable)
 * }
 */
export async function listen(options: ListenOptions = {}): Promise<KeypinListener> {
  const host = options.host ?? '127.0.0.1'
  const family = isIP(host)
  if (family === 0) throw new KeypinError('invalid-argument', `host must be an IP address literal, got ${describe(host)}`)
  const port = options.port ?? 0
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new KeypinError('invalid-argument', `port must be an integer from 0 to 65535, got ${describe(port)}`)
  }
  if (options.identity && options.identityFile) {
    throw new KeypinError('invalid-argument', 'pass either identity or identityFile, not both')
  }
  const backlog = options.backlog ?? 128
  if (!Number.isInteger(backlog) || backlog < 1) {
    throw new KeypinError('invalid-argument', `backlog must be a positive integer, got ${describe(backlog)}`)
  }
  const quicOptions = resolveQuicOptions(options)
  const webrtc = options.webrtc === true || options.webrtc === undefined ? {} : options.webrtc
  const webrtcOptions = webrtc === false ? undefined : resolveWebRtcServerOptions(webrtc, quicOptions.handshakeTimeout)
  const identity =
    options.identity ?? (options.identityFile ? await loadOrCreateIdentity(options.identityFile) : await generateIdentity())

  const socket = dgram.createSocket({ type: family === 6 ? 'udp6' : 'udp4', ipv6Only: false })
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      // A socket that failed to bind still holds a descriptor.
      socket.close()
      reject(new KeypinError('network-error', `cannot bind UDP ${host}:${port}: ${error.message}`, { cause: error }))
    }
    socket.once('error', onError)
    socket.bind(port, host, () => {
      socket.off('error', onError)
      resolve()
    })
  })
  enlargeSocketBuffers(socket)
  return new KeypinListener(socket, identity, {
    backlog,
    closeTimeout: options.closeTimeout ?? 2000,
    endpoint: (send, local, onConnection) =>
      new QuicServerEndpoint({
        config: serverConfig(identity.certificatePem, identity.privateKeyPem, quicOptions),
        options: quicOptions,
        local,
        send,
        onConnection,
        maxHandshakes: options.maxHandshakes,
        maxHandshakesPerHost: options.maxHandshakesPerHost,
      }),
    webrtc:
      webrtcOptions &&
      ((send, enqueue) =>
        new WebRtcServer({
          identity,
          options: webrtcOptions,
          connectOptions: {
            helloTimeout: webrtcOptions.handshakeTimeout,
            maxStreamData: quicOptions.maxStreamData,
            maxData: quicOptions.maxData,
            maxStreams: quicOptions.maxStreams,
            datagramQueueLength: quicOptions.datagramQueueLength,
            idleTimeout: quicOptions.idleTimeout,
            keepAliveInterval: quicOptions.keepAliveInterval,
          },
          send,
          enqueue,
        })),
  })
}

interface ListenerInit {
  backlog: number
  closeTimeout: number
  endpoint(
    send: (packet: Uint8Array, host: string, port: number) => void,
    local: HostPort,
    onConnection: (connection: Connection) => void,
  ): QuicServerEndpoint
  /** The WebRTC path, when enabled; attachWebRtc can replace it. */
  webrtc?: (
    send: (packet: Uint8Array, host: string, port: number) => void,
    enqueue: (connection: Connection) => void,
  ) => WebRtcHandler
}

export class KeypinListener implements Listener {
  readonly identity: Identity
  readonly #socket: dgram.Socket
  readonly #quic: QuicServerEndpoint
  readonly #accepted = new WaitQueue<Connection>()
  readonly #backlog: number
  readonly #closeTimeout: number
  readonly #localAddress: HostPort
  #webrtc: WebRtcHandler | undefined
  #closing: Promise<void> | undefined
  #socketOpen = true

  constructor(socket: dgram.Socket, identity: Identity, init: ListenerInit) {
    this.#socket = socket
    this.identity = identity
    this.#backlog = init.backlog
    this.#closeTimeout = init.closeTimeout
    const bound = socket.address()
    this.#localAddress = { host: bound.address, port: bound.port }
    const send = (packet: Uint8Array, host: string, port: number): void => this.sendRaw(packet, host, port)
    this.#quic = init.endpoint(send, this.#localAddress, (connection) => this.#enqueue(connection))
    this.#webrtc = init.webrtc?.(send, (connection) => this.#enqueue(connection))
    socket.on('message', (data, from) => this.#receive(data, from.address, from.port))
    // A UDP socket reports ICMP errors and the like here; none of them is fatal
    // to a listener serving many peers, and an unhandled 'error' would crash.
    socket.on('error', () => {})
  }

  get address(): string {
    return this.addressFor(loopbackFor(this.#localAddress.host))
  }

  addressFor(host: string): string {
    return formatAddress({ host, port: this.#localAddress.port, certhash: this.identity.certhash })
  }

  get localAddress(): HostPort {
    return { ...this.#localAddress }
  }

  get certhash(): string {
    return this.identity.certhash
  }

  /** Counters for tests and monitoring: live connections, handshakes, drops. */
  get stats(): ListenerStats {
    const webrtc = this.#webrtc?.stats ?? { webrtcPeers: 0, webrtcHandshakes: 0, relays: 0, webrtcRejected: 0 }
    return { ...this.#quic.stats, ...webrtc, backlog: this.#accepted.size }
  }

  /**
   * Replaces the WebRTC path (the built-in one unless `webrtc: false`). With
   * none attached, STUN datagrams are dropped.
   */
  attachWebRtc(handler: WebRtcHandler): void {
    this.#webrtc = handler
  }

  /**
   * Sends raw bytes from the listener's socket (QUIC and the WebRTC path share it).
   * Send failures (unreachable peers) are packet loss, reported as the
   * socket's (ignored) 'error' events; the protocols recover or time out.
   */
  sendRaw(packet: Uint8Array, host: string, port: number): void {
    if (this.#socketOpen) this.#socket.send(packet, port, host)
  }

  accept(options: SignalOptions = {}): Promise<Connection> {
    return this.#accepted.next(options.signal)
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Connection> {
    for (;;) {
      try {
        yield await this.#accepted.next()
      } catch (error) {
        if (this.#closing) return
        throw error
      }
    }
  }

  close(reason?: Reason): Promise<void> {
    this.#closing ??= this.#close(reason)
    return this.#closing
  }

  async #close(reason: Reason | undefined): Promise<void> {
    const { code, message } = reasonToWire(reason, 'closed')
    const error = new KeypinError('closed', 'the listener was closed')
    for (const connection of this.#accepted.fail(error)) void connection.close({ code, message })
    this.#quic.close(code, message || 'server shutting down')
    // WebRTC peers are told through the same socket, so it stays open until they are done.
    const webrtcClosed = this.#webrtc?.close({ code: reason?.code ?? 'closed', message: message || 'server shutting down' })
    // Give the peers a moment to receive the close; then stop regardless.
    const deadline = Date.now() + this.#closeTimeout
    while (this.#quic.connectionCount > 0 && Date.now() < deadline) await delay(10)
    this.#quic.destroy()
    await webrtcClosed
    this.#socketOpen = false
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()))
  }

  #receive(data: Buffer, host: string, port: number): void {
    const webrtc = this.#webrtc
    if (classifyDatagram(data, webrtc?.hasPeer(host, port) ?? false) === 'webrtc') {
      webrtc?.receive(data, host, port)
      return
    }
    this.#quic.receive(data, host, port)
  }

  #enqueue(connection: Connection): void {
    if (this.#closing || this.#accepted.size >= this.#backlog) {
      void connection.close({ code: 'queue-full', message: 'the server is not accepting connections' })
      return
    }
    this.#accepted.push(connection)
  }
}


function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** A wildcard bind is dialable on loopback; any other bind is dialable as itself. */
function loopbackFor(host: string): string {
  if (host === '0.0.0.0') return '127.0.0.1'
  if (host === '::') return '::1'
  return unmapIPv4(host)
}
