/**
 * Drives one quiche connection: feeds it packets, runs its timers, moves
 * stream and datagram events into the engine, and writes its packets out.
 * Shared by the server endpoint and the client dialer; it knows nothing about
 * sockets beyond a send function.
 */
import { KeypinError, certhashFromDigest, digestsEqual, sha256, type HostPort } from '@keypin/core'
import { KeypinConnection, deferred, type ConnectionTransport, type StreamTransport } from '@keypin/core/engine'
import { CRYPTO_ERROR_BAD_CERTIFICATE, quiche, quicheErrorName, type QuicheConnection, type QuicheHost } from './binding.js'
import { cancelFlush, scheduleFlush, type Flushable } from './flush-scheduler.js'
import type { ResolvedQuicOptions } from './options.js'
import { QuicStreamTransport, type StreamHost } from './stream-transport.js'

export type SendPacket = (packet: Uint8Array, host: string, port: number) => void

export interface DriverOptions {
  role: 'client' | 'server'
  conn: QuicheConnection
  local: QuicheHost
  remote: QuicheHost
  send: SendPacket
  options: ResolvedQuicOptions
  /** Client only: the certificate digest the server must present. */
  pin?: Uint8Array
  /** Called once when the driver is finished and can be dropped by its owner. */
  onDone?: (driver: QuicConnectionDriver) => void
}

/** Client bidi streams are 0 mod 4, server bidi streams 1 mod 4 (RFC 9000 §2.1). */
const INITIATOR_BIT = 0x1
const SCRATCH_SIZE = 64 * 1024

export class QuicConnectionDriver implements Flushable, StreamHost, ConnectionTransport {
  readonly kind = 'quic' as const
  readonly conn: QuicheConnection
  readonly connection: KeypinConnection
  #scratch: Uint8Array | undefined
  readonly #role: 'client' | 'server'
  readonly #local: QuicheHost
  #remote: QuicheHost
  readonly #send: SendPacket
  readonly #options: ResolvedQuicOptions
  readonly #pin: Uint8Array | undefined
  readonly #onDone: ((driver: QuicConnectionDriver) => void) | undefined
  readonly #streams = new Map<number, QuicStreamTransport>()
  readonly #blocked = new Set<QuicStreamTransport>()
  /** Streams holding back a byte, with the service pass in which they started to. */
  readonly #holding = new Map<QuicStreamTransport, number>()
  #pass = 0
  readonly #established = deferred<KeypinConnection>()
  /** Peer stream ids below the highest seen that have not arrived yet (reordering). */
  readonly #peerGaps = new Set<number>()
  #nextPeerStream: number
  #nextLocalStream: number
  #isEstablished = false
  #done = false
  #timer: ReturnType<typeof setTimeout> | undefined
  #timerDeadline = Infinity
  #keepAlive: ReturnType<typeof setInterval> | undefined
  #handshakeTimer: ReturnType<typeof setTimeout> | undefined
  #lastSend = 0
  /** Largest datagram quiche may produce: our payload limit, or the 1200-byte handshake floor. */
  readonly #packetSize: number
  #terminated = false
  /** A datagram sender waits for room in quiche's send queue. */
  #datagramsBlocked = false
  /**
   * Whether datagrams may be handed to quiche yet. A client's are held until
   * it has heard from the server after completing the handshake: until then
   * its handshake retransmission timer may resend a Handshake packet, quiche
   * coalesces the queued datagrams into the same UDP datagram, and a server
   * that has already dropped its Handshake keys discards the lot (seen on
   * loopback in about 1 connection in 400). Streams are retransmitted and
   * need no such care. Servers are confirmed when the handshake completes.
   */
  #datagramsReady: boolean
  /**
   * Packets arrived since streams were last serviced. Only an incoming packet
   * can make a stream readable or bring news to an idle one (STOP_SENDING),
   * so a pass started by the application's own writes skips asking quiche:
   * readable()/writable() and every step of their iterators are N-API calls, and
   * in request/response traffic half the passes are write-only.
   */
  #packetsToService = false

  constructor(init: DriverOptions) {
    this.conn = init.conn
    this.#role = init.role
    this.#datagramsReady = init.role === 'server'
    this.#local = init.local
    this.#remote = init.remote
    this.#send = init.send
    this.#options = init.options
    this.#pin = init.pin
    this.#onDone = init.onDone
    this.#packetSize = Math.max(1500, init.options.maxUdpPayloadSize)
    this.#nextLocalStream = init.role === 'client' ? 0 : 1
    this.#nextPeerStream = init.role === 'client' ? 1 : 0
    this.connection = new KeypinConnection(this, { datagramQueueLength: init.options.datagramQueueLength })
    this.#handshakeTimer = setTimeout(() => this.#handshakeTimedOut(), init.options.handshakeTimeout)
    this.#handshakeTimer.unref?.()
  }

  /**
   * The read buffer streams share, allocated on first use: a server makes a
   * driver for every Initial it tries to decrypt, and most hostile ones never
   * get as far as a stream.
   */
  get scratch(): Uint8Array {
    return (this.#scratch ??= new Uint8Array(SCRATCH_SIZE))
  }

  /** Resolves once the handshake completed (and, for clients, the pin matched). */
  get established(): Promise<KeypinConnection> {
    return this.#established.promise
  }

  get isEstablished(): boolean {
    return this.#isEstablished
  }

  get isDone(): boolean {
    return this.#done
  }

  get remoteAddress(): HostPort {
    return { host: unmapIPv4(this.#remote.host), port: this.#remote.port }
  }

  /** Feeds one UDP payload. Returns false if quiche rejected it outright. */
  receive(packet: Uint8Array, host: string, port: number): boolean {
    if (this.#done) return false
    if (host !== this.#remote.host || port !== this.#remote.port) this.#remote = { host, port }
    // The server's first flight after it completed the handshake (which
    // carries HANDSHAKE_DONE) confirms it for the client too.
    if (this.#isEstablished) this.#datagramsReady = true
    this.#packetsToService = true
    try {
      this.conn.recv(packet, { from: this.#remote, to: this.#local })
    } catch {
      // quiche already dropped the packet or moved to closing; flush() notices either.
      scheduleFlush(this)
      return false
    }
    scheduleFlush(this)
    return true
  }

  /** Stops everything immediately without telling the peer (listener shutdown after close). */
  destroy(error: KeypinError): void {
    if (this.#done) return
    this.#fail(error)
    this.#finish()
  }

  // ---- Flushable: the batched service pass ----

  flush(): void {
    if (this.#done) return
    if (!this.#isEstablished && this.conn.isEstablished()) this.#onHandshakeComplete()
    const pass = ++this.#pass
    if (this.#isEstablished && !this.conn.isClosed()) {
      this.#serviceStreams()
      this.#serviceDatagrams()
      if (this.conn.peerStreamsLeftBidi() > 0) this.connection.streamCreditAvailable()
      // Bytes held back before this pass are released now; a write that
      // completed during this pass keeps its byte until the next one, so the
      // application's reaction to the write (often a close) can still join it.
      for (const [stream, since] of this.#holding) {
        if (since < pass && stream.releaseHeld()) this.#holding.delete(stream)
      }
    }
    this.#sendPackets()
    if (this.#datagramsBlocked && this.#datagramsReady && !this.conn.isDgramSendQueueFull()) {
      this.#datagramsBlocked = false
      this.connection.datagramCapacityAvailable()
    }
    // Draining (peer closed) or closing: the application hears now; the driver
    // lingers until quiche's closing period ends so stray packets are absorbed.
    if (!this.#terminated && (this.conn.isDraining() || this.conn.isClosed())) this.#terminate()
    if (this.conn.isClosed()) {
      this.#finish()
      return
    }
    this.#armTimer()
  }

  scheduleFlush(): void {
    scheduleFlush(this)
  }

  sendNow(): void {
    if (!this.#done) this.#sendPackets()
  }

  markBlocked(stream: QuicStreamTransport): void {
    this.#blocked.add(stream)
  }

  markHolding(stream: QuicStreamTransport): void {
    this.#holding.set(stream, this.#pass)
    scheduleFlush(this)
  }

  forget(stream: QuicStreamTransport): void {
    this.#streams.delete(stream.id)
    this.#blocked.delete(stream)
    this.#holding.delete(stream)
  }

  // ---- ConnectionTransport ----

  tryOpenStream(): StreamTransport | null {
    if (this.#done || this.conn.peerStreamsLeftBidi() === 0) return null
    const id = this.#nextLocalStream
    // A zero-length send makes quiche create the stream (and count it against
    // the peer's limit) without putting anything on the wire yet.
    try {
      this.conn.streamSend(id, new Uint8Array(0), false)
    } catch {
      return null
    }
    this.#nextLocalStream += 4
    const stream = new QuicStreamTransport(this, id)
    this.#streams.set(id, stream)
    return stream
  }

  sendDatagram(data: Uint8Array): boolean {
    if (!this.#datagramsReady) {
      // The engine waits for datagramCapacityAvailable(), as for a full queue.
      this.#datagramsBlocked = true
      return false
    }
    let queued
    try {
      // null: quiche's send queue is full (the datagram was not taken).
      queued = this.conn.dgramSend(data)
    } catch (error) {
      const max = this.maxDatagramPayloadSize()
      if (quicheErrorName(error) === 'BufferTooShort') {
        throw new KeypinError('too-large', `datagram of ${data.byteLength} bytes was refused (maximum ${max})`, {
          cause: error,
          maxDatagramPayloadSize: max,
        })
      }
      throw new KeypinError('unsupported', `the connection cannot send datagrams: ${quicheErrorName(error)}`, { cause: error })
    }
    scheduleFlush(this)
    if (queued === null) {
      this.#datagramsBlocked = true
      return false
    }
    return true
  }

  maxDatagramPayloadSize(): number {
    return this.conn.dgramMaxWritableLen() ?? 0
  }

  close(wireCode: number, message: string): void {
    if (this.#done) return
    try {
      this.conn.close(true, wireCode, new TextEncoder().encode(message.slice(0, 256)))
    } catch {
      // Already closing.
    }
    // Send the CONNECTION_CLOSE now rather than on the next turn, so a process
    // that exits right after close() still tells its peer.
    this.flush()
  }

  // ---- internals ----

  #onHandshakeComplete(): void {
    if (this.#pin) {
      const chain = this.conn.peerCertChain()
      const leaf = chain?.[0]
      const digest = leaf ? sha256(leaf) : undefined
      if (!digest || !digestsEqual(digest, this.#pin)) {
        const got = digest ? certhashFromDigest(digest) : 'no certificate'
        const error = new KeypinError(
          'pin-mismatch',
          `the server presented a certificate with certhash ${got}, expected ${certhashFromDigest(this.#pin)}`,
        )
        // Our last handshake flight goes first: without it the server cannot
        // read the close and would hold a handshake slot until its timeout.
        this.#sendPackets()
        try {
          this.conn.close(false, CRYPTO_ERROR_BAD_CERTIFICATE, new Uint8Array(0))
        } catch {
          // Already closing.
        }
        this.#fail(error)
        return
      }
    }
    this.#isEstablished = true
    clearTimeout(this.#handshakeTimer)
    this.#handshakeTimer = undefined
    if (this.#options.keepAliveInterval > 0) {
      this.#keepAlive = setInterval(() => this.#sendKeepAlive(), Math.max(50, this.#options.keepAliveInterval / 2))
      this.#keepAlive.unref?.()
    }
    this.#established.resolve(this.connection)
  }

  #serviceStreams(): void {
    const packets = this.#packetsToService
    this.#packetsToService = false
    if (packets) {
      for (const id of this.conn.readable()) {
        const stream = this.#streams.get(id) ?? this.#incomingStream(id)
        if (stream && stream.pumpRead()) scheduleFlush(this)
      }
    }
    if (this.#blocked.size > 0) {
      const blocked = [...this.#blocked]
      this.#blocked.clear()
      for (const stream of blocked) stream.onWritable()
    }
    if (packets) {
      for (const id of this.conn.writable()) {
        const stream = this.#streams.get(id)
        if (stream && !stream.blocked) stream.onWritable()
      }
    }
  }

  /** A readable id we do not know: a new peer stream, or a leftover to ignore. */
  #incomingStream(id: number): QuicStreamTransport | undefined {
    const peerInitiated = (id & INITIATOR_BIT) === (this.#nextPeerStream & INITIATOR_BIT) && (id & 0x2) === 0
    if (!peerInitiated) return undefined
    if (id >= this.#nextPeerStream) {
      for (let gap = this.#nextPeerStream; gap < id; gap += 4) this.#peerGaps.add(gap)
      this.#nextPeerStream = id + 4
    } else if (!this.#peerGaps.delete(id)) {
      return undefined
    }
    const stream = new QuicStreamTransport(this, id)
    this.#streams.set(id, stream)
    this.connection.addIncomingStream(stream)
    return stream
  }

  #serviceDatagrams(): void {
    for (let datagram = this.conn.dgramRecvVec(); datagram; datagram = this.conn.dgramRecvVec()) {
      this.connection.receiveDatagram(datagram)
    }
  }

  #sendPackets(): void {
    for (;;) {
      // A fresh buffer per packet (the socket holds on to it until the kernel
      // has it); allocUnsafe carves small ones out of Node's shared pool.
      const buffer = Buffer.allocUnsafe(this.#packetSize)
      let result
      try {
        result = this.conn.send(buffer)
      } catch {
        break
      }
      if (result === null) break
      const [length, info] = result
      this.#send(buffer.subarray(0, length), info.to.host, info.to.port)
      this.#lastSend = Date.now()
    }
  }

  #armTimer(): void {
    const timeout = this.conn.timeout()
    if (timeout === null) {
      clearTimeout(this.#timer)
      this.#timer = undefined
      this.#timerDeadline = Infinity
      return
    }
    const deadline = Date.now() + timeout
    // Re-arming a timer per flush is costly at high packet rates; keep one that
    // fires no later than needed (a slightly early fire just re-arms).
    if (this.#timer !== undefined && this.#timerDeadline <= deadline + 1) return
    clearTimeout(this.#timer)
    this.#timerDeadline = deadline
    this.#timer = setTimeout(() => this.#onTimer(), timeout)
  }

  #onTimer(): void {
    this.#timer = undefined
    this.#timerDeadline = Infinity
    if (this.#done) return
    const timeout = this.conn.timeout()
    if (timeout !== null && timeout > 0) {
      this.#armTimer()
      return
    }
    this.conn.onTimeout()
    this.flush()
  }

  #sendKeepAlive(): void {
    if (this.#done || Date.now() - this.#lastSend < this.#options.keepAliveInterval) return
    try {
      this.conn.sendAckEliciting()
    } catch {
      return
    }
    scheduleFlush(this)
  }

  #handshakeTimedOut(): void {
    if (this.#isEstablished || this.#done) return
    const error = new KeypinError('timeout', `the QUIC handshake did not complete within ${this.#options.handshakeTimeout} ms`)
    try {
      this.conn.close(false, 0, new Uint8Array(0))
    } catch {
      // Already closing.
    }
    this.#fail(error)
    this.#sendPackets()
    this.#finish()
  }

  /** Ends the connection for the application with a locally decided error. */
  #fail(error: KeypinError): void {
    this.#terminated = true
    this.#established.reject(error)
    this.connection.terminate(error, 'transport')
  }

  /** Ends the connection for the application with whatever quiche says happened. */
  #terminate(): void {
    this.#terminated = true
    const { error, initiator, peerMessage } = closeError(this.conn, this.#options.idleTimeout)
    this.#established.reject(error)
    this.connection.terminate(error, initiator, peerMessage)
  }

  #finish(): void {
    if (this.#done) return
    this.#done = true
    clearTimeout(this.#timer)
    clearTimeout(this.#handshakeTimer)
    clearInterval(this.#keepAlive)
    cancelFlush(this)
    const gone = new KeypinError('closed', 'the connection has closed')
    for (const stream of this.#streams.values()) stream.fail(gone)
    this.#streams.clear()
    this.#blocked.clear()
    this.#holding.clear()
    if (!this.#terminated) this.#terminate()
    this.#onDone?.(this)
  }
}

/** Explains why quiche closed a connection, as the error operations fail with. */
function closeError(
  conn: QuicheConnection,
  idleTimeout: number,
): { error: KeypinError; initiator: 'remote' | 'transport'; peerMessage?: string } {
  const peer = conn.peerError()
  if (peer) {
    const message = new TextDecoder().decode(peer.reason)
    if (peer.isApp) {
      const error =
        peer.errorCode === 0
          ? new KeypinError('closed', message || 'the peer closed the connection', { wireCode: 0, remote: true })
          : KeypinError.fromWire(peer.errorCode, message || `the peer closed the connection (code ${peer.errorCode})`)
      return { error, initiator: 'remote', peerMessage: message }
    }
    if (peer.errorCode === 0) {
      const error = new KeypinError('closed', message || 'the peer closed the connection', { wireCode: 0, remote: true })
      return { error, initiator: 'remote', peerMessage: message }
    }
    const tls = peer.errorCode >= quiche.CRYPTO_ERROR_START && peer.errorCode <= quiche.CRYPTO_ERROR_STOP
    const what = tls ? `TLS alert ${peer.errorCode - 0x100}` : `QUIC transport error 0x${peer.errorCode.toString(16)}`
    return {
      error: new KeypinError(tls ? 'permission-denied' : 'protocol-error', `the peer closed the connection: ${what}${message ? ` (${message})` : ''}`, { remote: true }),
      initiator: 'remote',
    }
  }
  if (conn.isTimedOut()) {
    return { error: new KeypinError('timeout', `no packet from the peer for ${idleTimeout} ms (idle timeout)`), initiator: 'transport' }
  }
  const local = conn.localError()
  if (local && !local.isApp && local.errorCode !== 0) {
    return {
      error: new KeypinError('protocol-error', `the connection failed: QUIC error 0x${local.errorCode.toString(16)}`),
      initiator: 'transport',
    }
  }
  return { error: new KeypinError('closed', 'the connection has closed'), initiator: 'transport' }
}

/** "::ffff:1.2.3.4" (a dual-stack socket's view of an IPv4 peer) → "1.2.3.4". */
export function unmapIPv4(host: string): string {
  return host.startsWith('::ffff:') && host.includes('.') ? host.slice(7) : host
}
