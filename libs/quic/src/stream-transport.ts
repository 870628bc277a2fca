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
  /** Note that this stream waits for send capacity. */
  markBlocked(stream: QuicStreamTransport): void
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

export class QuicStreamTransport implements StreamTransport {
  sink: StreamSink | undefined
  readonly id: number
  readonly #host: StreamHost
  #pending: PendingWrite | undefined
  #readDone = false

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
        if (parsed?.kind === 'StreamReset') sink.receiveReset(parsed.code)
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

  /** The connection is gone: settle whatever waits. */
  fail(error: KeypinError): void {
    this.#failPending(error)
  }

  #send(chunk: Uint8Array, fin: boolean): Promise<void> {
    if (this.#pending) {
      return Promise.reject(new KeypinError('internal-error', 'overlapping writes on one stream'))
    }
    const done = deferred<void>()
    this.#pending = { rest: chunk, fin, done }
    this.#continue()
    return done.promise
  }

  /** Pushes as much of the pending write into quiche as it accepts now. */
  #continue(): void {
    const pending = this.#pending
    if (!pending) return
    let written: number | null
    try {
      written = this.#host.conn.streamSend(this.id, pending.rest, pending.fin)
    } catch (error) {
      const parsed = parseStreamError(error)
      if (parsed?.kind === 'StreamStopped') {
        this.#failPending(KeypinError.fromWire(parsed.code, `the peer stopped reading (code ${parsed.code})`))
        this.sink?.receiveStopSending(parsed.code)
      } else {
        this.#failPending(new KeypinError('closed', `stream ${this.id} cannot send: ${quicheErrorName(error)}`))
      }
      return
    }
    if (written === null) {
      // No capacity at all (flow control or a full send buffer): wait for writable.
      this.#host.markBlocked(this)
      return
    }
    if (written > 0 || pending.fin) this.#host.scheduleFlush()
    if (written === pending.rest.byteLength) {
      this.#pending = undefined
      pending.done.resolve()
      return
    }
    pending.rest = pending.rest.subarray(written)
    this.#host.markBlocked(this)
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
