/**
 * The one public Stream implementation. It turns a transport's primitive
 * operations (write, finish, reset, stop-sending, inbound chunks) into WHATWG
 * streams with QUIC half-close semantics. Transports never see the WHATWG
 * objects; the engine never sees packets.
 */
import { KeypinError, WIRE_ERROR_CODES, describe, reasonToWire, type Reason } from '../errors.js'
import type { Stream } from '../types.js'
import { deferred } from './waiters.js'
import type { StreamSink, StreamTransport } from './transport.js'

export interface StreamOptions {
  /** Bytes buffered for the application before the transport holds back (and the peer waits). */
  readHighWaterMark?: number
  /** Bytes the writable queues before `writer.ready` waits. */
  writeHighWaterMark?: number
}

const DEFAULT_READ_HWM = 256 * 1024
const DEFAULT_WRITE_HWM = 64 * 1024

type ReadState = 'open' | 'ended' | 'cancelled' | 'reset' | 'failed'
type WriteState = 'open' | 'finishing' | 'finished' | 'reset' | 'stopped' | 'failed'

export class KeypinStream implements Stream, StreamSink {
  readonly readable: ReadableStream<Uint8Array>
  readonly writable: WritableStream<Uint8Array>
  readonly #transport: StreamTransport
  readonly #closed = deferred<void>()
  readonly #onRelease: (stream: KeypinStream) => void
  #readController!: ReadableByteStreamController
  #writeController!: WritableStreamDefaultController
  #readState: ReadState = 'open'
  #writeState: WriteState = 'open'
  /** The failure `closed` rejects with, when a half ended abnormally. */
  #failure: KeypinError | undefined
  /** The write in flight, so closeWrite can run after it when the writable is locked. */
  #lastWrite: Promise<void> = Promise.resolve()
  /**
   * Rejects when the write half ends abnormally, so a write parked in the
   * transport (waiting for credit that will never come) settles with the
   * reason instead of hanging, whatever the transport does with it.
   */
  readonly #writeAborted = deferred<never>()
  #released = false

  constructor(transport: StreamTransport, onRelease: (stream: KeypinStream) => void, options: StreamOptions = {}) {
    this.#transport = transport
    this.#onRelease = onRelease
    transport.sink = this
    this.readable = new ReadableStream(
      {
        type: 'bytes',
        start: (controller) => {
          this.#readController = controller
        },
        pull: () => {
          this.#transport.wantRead()
        },
        cancel: (reason) => {
          this.#cancelReadHalf(reasonFrom(reason, 'cancelled'))
        },
      },
      { highWaterMark: options.readHighWaterMark ?? DEFAULT_READ_HWM },
    )
    this.writable = new WritableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#writeController = controller
        },
        write: (chunk) => this.#write(chunk),
        close: () => this.#finishWriteHalf(),
        abort: (reason) => {
          this.#resetWriteHalf(reasonFrom(reason, 'reset'))
        },
      },
      {
        highWaterMark: options.writeHighWaterMark ?? DEFAULT_WRITE_HWM,
        // Not ByteLengthQueuingStrategy: a non-byte chunk must reach #write and
        // fail with a KeypinError, not with a RangeError from a NaN size.
        size: (chunk) => (chunk instanceof Uint8Array ? chunk.byteLength : 0),
      },
    )
  }

  get closed(): Promise<void> {
    return this.#closed.promise
  }

  // ---- public half-close API ----

  async closeWrite(): Promise<void> {
    if (this.#writeState !== 'open') return this.#writeEnded()
    if (!this.writable.locked) return this.writable.close()
    // The application holds a writer: finish after its in-flight write, then
    // make its further writes fail instead of silently succeeding.
    this.#writeState = 'finishing'
    await this.#lastWrite.catch(() => {})
    await this.#finishWriteHalf()
    this.#writeController.error(new KeypinError('closed', 'the write half of this stream was closed'))
  }

  async resetWrite(reason?: Reason): Promise<void> {
    if (this.#writeState === 'open' || this.#writeState === 'finishing') {
      this.#resetWriteHalf(reason)
      this.#writeController.error(new KeypinError('reset', 'the write half of this stream was reset locally'))
    }
  }

  async cancelRead(reason?: Reason): Promise<void> {
    if (this.#readState !== 'open') return
    this.#cancelReadHalf(reason)
    this.#readController.error(new KeypinError('cancelled', 'the read half of this stream was cancelled locally'))
  }

  async close(reason?: Reason): Promise<void> {
    const abortive = reason?.code !== undefined && reason.code !== 0 && reason.code !== 'none'
    if (abortive) {
      await this.resetWrite(reason)
      await this.cancelRead(reason)
      return
    }
    await this.cancelRead({ code: 'cancelled', message: reason?.message })
    await this.closeWrite()
  }

  // ---- StreamSink: events from the transport ----

  get readDesired(): number {
    if (this.#readState !== 'open') return 0
    return this.#readController.desiredSize ?? 0
  }

  receive(chunk: Uint8Array<ArrayBuffer>): void {
    if (this.#readState !== 'open' || chunk.byteLength === 0) return
    this.#readController.enqueue(chunk)
  }

  receiveEnd(): void {
    if (this.#readState !== 'open') return
    this.#readState = 'ended'
    this.#readController.close()
    // A BYOB reader parked on an empty queue learns about EOF only through respond(0).
    try {
      this.#readController.byobRequest?.respond(0)
    } catch {
      // No BYOB read was parked; nothing to wake.
    }
    this.#maybeRelease()
  }

  receiveReset(wireCode: number): void {
    if (this.#readState !== 'open') return
    const error = KeypinError.fromWire(wireCode, `the peer reset its write half (code ${wireCode})`)
    this.#readState = 'reset'
    this.#failure ??= error
    this.#readController.error(error)
    this.#maybeRelease()
  }

  receiveStopSending(wireCode: number): void {
    if (this.#writeState !== 'open' && this.#writeState !== 'finishing') return
    const error = KeypinError.fromWire(wireCode, `the peer stopped reading (code ${wireCode})`)
    this.#writeState = 'stopped'
    this.#failure ??= error
    this.#writeAborted.reject(error)
    // QUIC semantics: the sender answers STOP_SENDING with RESET carrying the same code.
    this.#transport.reset(wireCode)
    this.#writeController.error(error)
    this.#maybeRelease()
  }

  /** The connection died: fail whatever is still open, without touching the wire. */
  fail(error: KeypinError): void {
    if (this.#readState === 'open') {
      this.#readState = 'failed'
      this.#readController.error(error)
      this.#failure ??= error
    }
    if (this.#writeState === 'open' || this.#writeState === 'finishing') {
      this.#writeState = 'failed'
      this.#writeAborted.reject(error)
      this.#writeController.error(error)
      this.#failure ??= error
    }
    this.#maybeRelease()
  }

  // ---- internals ----

  #write(chunk: Uint8Array): Promise<void> {
    if (!(chunk instanceof Uint8Array)) {
      const error = new KeypinError('invalid-argument', `stream chunks must be Uint8Array, got ${describe(chunk)}`)
      // The writable is about to error; tell the peer rather than leave it waiting.
      this.#resetWriteHalf({ code: 'internal-error' }, error)
      return Promise.reject(error)
    }
    if (chunk.byteLength === 0) return Promise.resolve()
    const write = Promise.race([this.#transport.write(chunk), this.#writeAborted.promise])
    this.#lastWrite = write
    return write
  }

  async #finishWriteHalf(): Promise<void> {
    this.#writeState = 'finishing'
    try {
      await this.#transport.finish()
    } finally {
      if (this.#writeState === 'finishing') this.#writeState = 'finished'
      this.#maybeRelease()
    }
  }

  #resetWriteHalf(reason: Reason | undefined, error?: KeypinError): void {
    if (this.#writeState !== 'open' && this.#writeState !== 'finishing') return
    this.#writeState = 'reset'
    this.#writeAborted.reject(error ?? new KeypinError('reset', 'the write half of this stream was reset locally'))
    this.#transport.reset(reasonToWire(reason, 'reset').code)
    this.#maybeRelease()
  }

  #cancelReadHalf(reason: Reason | undefined): void {
    if (this.#readState !== 'open') return
    this.#readState = 'cancelled'
    this.#transport.stopSending(reasonToWire(reason, 'cancelled').code)
    this.#maybeRelease()
  }

  /** Resolves when the write half has reached a terminal state. */
  async #writeEnded(): Promise<void> {
    await this.#lastWrite.catch(() => {})
  }

  #maybeRelease(): void {
    const readDone = this.#readState !== 'open'
    const writeDone = this.#writeState !== 'open' && this.#writeState !== 'finishing'
    if (!readDone || !writeDone || this.#released) return
    this.#released = true
    if (this.#failure) this.#closed.reject(this.#failure)
    else this.#closed.resolve()
    this.#transport.release()
    this.#onRelease(this)
  }
}

/** Accepts a Reason, a KeypinError or anything a WHATWG abort/cancel passes. */
function reasonFrom(value: unknown, fallback: 'reset' | 'cancelled'): Reason {
  if (value instanceof KeypinError) return { code: value.wireCode, message: value.message }
  if (typeof value === 'object' && value !== null && ('code' in value || 'message' in value)) {
    const { code, message } = value as { code?: unknown; message?: unknown }
    const validCode = typeof code === 'number' || (typeof code === 'string' && code in WIRE_ERROR_CODES)
    return {
      code: validCode ? (code as Reason['code']) : fallback,
      message: typeof message === 'string' ? message : undefined,
    }
  }
  return { code: fallback }
}
