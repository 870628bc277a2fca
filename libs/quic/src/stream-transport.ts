/**
 * One QUIC stream as the engine's StreamTransport: no framing, the QUIC
 * stream is the stream. Writes go straight into quiche's send buffer (bounded
 * by the peer's flow-control credit); inbound bytes stay inside quiche until
 * the engine has room, so an application that does not read makes the peer
 * wait instead of making us buffer.
 */
import { KeypinError } from '@keypin/core'
import { deferred, type StreamSink, type StreamTransport } from '@keypin/core/engine'
import { parseStreamError, quiche, quicheErrorName } from './binding.js'

/** What a stream needs from its connection driver. */
export interface StreamHost {
  readonly conn: import('./binding.js').QuicheConnection
  /** Ask for a send pass soon (batched). */
  scheduleFlush(): void
  /** Send whatever quiche has queued, right now. */
  sendNow(): void
  /** Note that this stream waits for send capacity. */
  markBlocked(stream: QuicStreamTransport): void
  /** Note that this stream holds back a byte to release at the end of this turn. */
  markHolding(stream: QuicStreamTransport): void
  forget(stream: QuicStreamTransport): void
  /** Scratch buffer for reads (copied out before the next use). */
  readonly scratch: Uint8Array
}

interface PendingWrite {
  rest: Uint8Array
  fin: boolean
  done: ReturnType<typeof deferred<void>>
}

const EMPTY = new Uint8Array(0)
/** Send room (congestion window and stream credit) that surely fits a packet with a bare FIN. */
const MIN_FIN_ROOM = 256

export class QuicStreamTransport implements StreamTransport {
  sink: StreamSink | undefined
  readonly id: number
  readonly #host: StreamHost
  #pending: PendingWrite | undefined
  #readDone = false
  /**
   * The last byte written so far, not yet handed to quiche. Holding it lets a
   * FIN that follows within the same event-loop turn (write then close, or a
   * pipe reaching EOF) travel in the same frame as data instead of alone;
   * see #canSendFinNow for why a lone FIN is fragile. Released to quiche at
   * the end of the turn, so it costs no latency.
   */
  #held: Uint8Array | undefined

  constructor(host: StreamHost, id: number) {
    this.#host = host
    this.id = id
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.#send(chunk, false)
  }

  finish(): Promise<void> {
    return this.#send(EMPTY, true)
  }

  reset(code: number): void {
    this.#held = undefined
    this.#failPending(new KeypinError('reset', 'the write half was reset'))
    this.#shutdown(quiche.Shutdown.Write, code)
  }

  stopSending(code: number): void {
    this.#readDone = true
    this.#shutdown(quiche.Shutdown.Read, code)
  }

  wantRead(): void {
    if (this.pumpRead()) this.#host.scheduleFlush()
  }

  release(): void {
    this.#held = undefined
    this.#failPending(new KeypinError('closed', 'the stream has ended'))
    this.#host.forget(this)
  }

  /** True while a write waits for capacity. */
  get blocked(): boolean {
    return this.#pending !== undefined
  }

  /**
   * Moves inbound bytes from quiche to the engine while it has room.
   * Returns true when something was consumed (flow-control credit may be due).
   */
  pumpRead(): boolean {
    const sink = this.sink
    if (!sink || this.#readDone) return false
    const { conn, scratch } = this.#host
    let consumed = false
    while (sink.readDesired > 0) {
      let result: [number, boolean] | null
      try {
        result = conn.streamRecv(this.id, scratch)
      } catch (error) {
        const parsed = parseStreamError(error)
        this.#readDone = true
        if (parsed?.kind === 'StreamReset') {
          sink.receiveReset(parsed.code)
          if (!this.#pending) this.#probeStopped(parsed.code)
        }
        return consumed
      }
      if (result === null) return consumed
      const [length, fin] = result
      consumed = true
      if (length > 0) sink.receive(scratch.slice(0, length))
      if (fin) {
        this.#readDone = true
        sink.receiveEnd()
        return consumed
      }
    }
    return consumed
  }

  /** Called by the driver when quiche reports the stream writable. */
  onWritable(): void {
    if (this.#pending) {
      this.#continue()
      return
    }
    // Not waiting on anything: the only news can be a STOP_SENDING from the peer.
    try {
      this.#host.conn.streamCapacity(this.id)
    } catch (error) {
      const parsed = parseStreamError(error)
      if (parsed?.kind === 'StreamStopped') this.sink?.receiveStopSending(parsed.code)
    }
  }

  /**
   * quiche does not report a stream writable when STOP_SENDING arrives, so an
   * idle write half would only hear of it at its next write, and `closed`
   * would wait for that. A peer that abandons a stream (close with a code)
   * sends RESET_STREAM and STOP_SENDING together; once the reset has been
   * read, quiche has either the stop recorded or, with both directions over,
   * the stream already collected (InvalidStreamState). Either way the peer
   * stopped reading; a collected stream no longer says with which code, and
   * the reset's is the one the peer used for both.
   */
  #probeStopped(resetCode: number): void {
    try {
      this.#host.conn.streamCapacity(this.id)
    } catch (error) {
      const parsed = parseStreamError(error)
      if (parsed?.kind === 'StreamStopped') this.sink?.receiveStopSending(parsed.code)
      else if (quicheErrorName(error).startsWith('InvalidStreamState')) this.sink?.receiveStopSending(resetCode)
    }
  }

  /** The connection is gone: settle whatever waits. */
  fail(error: KeypinError): void {
    this.#failPending(error)
  }

  /** Hands the held byte to quiche (end of turn). Returns false while it must keep holding. */
  releaseHeld(): boolean {
    const held = this.#held
    if (!held || this.#pending) return true
    let written: number | null
    try {
      written = this.#host.conn.streamSend(this.id, held, false)
    } catch (error) {
      this.#held = undefined
      this.#failSend(error)
      return true
    }
    if (written !== 1) return false
    this.#held = undefined
    return true
  }

  #send(chunk: Uint8Array, fin: boolean): Promise<void> {
    if (this.#pending) {
      return Promise.reject(new KeypinError('internal-error', 'overlapping writes on one stream'))
    }
    let rest = chunk
    const held = this.#held
    if (held) {
      // The held byte goes first; if quiche cannot take it now, it leads the write.
      this.#held = undefined
      let taken: number | null = null
      try {
        taken = fin && chunk.byteLength === 0 ? null : this.#host.conn.streamSend(this.id, held, false)
      } catch {
        taken = null
      }
      if (taken !== 1) rest = concat(held, chunk)
    }
    const done = deferred<void>()
    this.#pending = { rest, fin, done }
    this.#continue()
    return done.promise
  }

  /** Pushes as much of the pending write into quiche as it accepts now. */
  #continue(): void {
    const pending = this.#pending
    if (!pending) return
    const finOnly = pending.fin && pending.rest.byteLength === 0
    // Data writes keep their last byte back (see #held); a FIN takes everything.
    const holdBack = !pending.fin && pending.rest.byteLength > 0
    const part = holdBack ? pending.rest.subarray(0, pending.rest.byteLength - 1) : pending.rest
    let written: number | null
    try {
      if (finOnly && !this.#canSendFinNow()) {
        this.#host.markBlocked(this)
        return
      }
      written = part.byteLength === 0 && !pending.fin ? 0 : this.#host.conn.streamSend(this.id, part, pending.fin)
    } catch (error) {
      this.#failSend(error)
      return
    }
    if (written === null) {
      // No capacity at all (flow control or a full send buffer): wait for writable.
      this.#host.markBlocked(this)
      return
    }
    if (finOnly) this.#host.sendNow()
    else if (written > 0 || pending.fin) this.#host.scheduleFlush()
    if (written === part.byteLength) {
      if (holdBack) {
        this.#held = pending.rest.slice(pending.rest.byteLength - 1)
        this.#host.markHolding(this)
      }
      this.#pending = undefined
      pending.done.resolve()
      return
    }
    pending.rest = pending.rest.subarray(written)
    this.#host.markBlocked(this)
  }

  /**
   * A FIN that carries no data (the application closed in a later turn than
   * its last write) is only safe to hand to quiche when it can go out at once. The pinned quiche treats a stream whose final size is known
   * and whose data is all acknowledged as complete, and discards it, FIN
   * unsent, when the next ACK is processed (upstream quiche issue 2525). So
   * the FIN is written only while the congestion window has room, its stream
   * is moved to the front of the send queue, and the packets are sent before
   * any further packet is received. Until then the FIN waits here, and quiche
   * does not know the final size, so nothing can be discarded. What remains
   * is the loss of the very packet carrying a lone FIN after the peer's own
   * FIN was read: quiche then forgets the stream instead of resending it.
   */
  #canSendFinNow(): boolean {
    const conn = this.#host.conn
    if (conn.streamCapacity(this.id) < MIN_FIN_ROOM) return false
    conn.streamPriority(this.id, 0, false)
    return true
  }

  #failSend(error: unknown): void {
    const parsed = parseStreamError(error)
    if (parsed?.kind === 'StreamStopped') {
      this.#failPending(KeypinError.fromWire(parsed.code, `the peer stopped reading (code ${parsed.code})`))
      this.sink?.receiveStopSending(parsed.code)
    } else {
      this.#failPending(new KeypinError('closed', `stream ${this.id} cannot send: ${quicheErrorName(error)}`))
    }
  }

  #failPending(error: KeypinError): void {
    const pending = this.#pending
    if (!pending) return
    this.#pending = undefined
    pending.done.reject(error)
  }

  #shutdown(direction: number, code: number): void {
    try {
      this.#host.conn.streamShutdown(this.id, direction, code)
      this.#host.scheduleFlush()
    } catch {
      // The stream is already complete or the connection gone: nothing to tell the peer.
    }
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength)
  out.set(a)
  out.set(b, a.byteLength)
  return out
}
