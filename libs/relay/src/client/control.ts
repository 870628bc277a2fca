/**
 * The client's end of the control stream: frames out, frames in, requests
 * matched to their replies by request id, each bounded by a timeout.
 *
 * Frames from the relay are parsed strictly (a relay is trusted to route,
 * not to be well-behaved): a frame that breaks the protocol closes the
 * channel with `protocol-error`. Frames of unknown types are ignored, so a
 * newer relay can add some.
 */
import type { Stream } from '@keypin/core'
import { FieldReader, FrameError, decodeJsonObject, type Fields } from '../protocol/check.js'
import { isProtocolErrorCode, RelayError } from '../protocol/errors.js'
import { encodeFrame, FrameDecoder, FrameTooLargeError } from '../protocol/frame.js'
import { MAX_FRAME_BYTES } from '../protocol/limits.js'

/** A push frame from the relay (anything but ok/error replies), still as fields. */
export interface PushFrame {
  t: string
  fields: FieldReader
}

export interface ControlOptions {
  requestTimeoutMs: number
  onPush(frame: PushFrame): void
  onClose(error: RelayError | undefined): void
}

interface Pending {
  resolve(fields: FieldReader): void
  reject(error: RelayError): void
  timer: ReturnType<typeof setTimeout>
}

export class ControlChannel {
  readonly #stream: Stream
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>
  readonly #options: ControlOptions
  readonly #pending = new Map<number, Pending>()
  #nextId = 1
  #writes: Promise<void> = Promise.resolve()
  /** The error the relay announced before closing (an error frame without a request id). */
  #fatal: RelayError | undefined
  #closed: RelayError | null | undefined = undefined
  readonly #reading: Promise<void>
  #helloWaiter: ((fields: FieldReader) => void) | undefined

  constructor(stream: Stream, options: ControlOptions) {
    this.#stream = stream
    this.#writer = stream.writable.getWriter()
    this.#writer.closed.catch(() => {})
    this.#options = options
    this.#reading = this.#read()
  }

  get isClosed(): boolean {
    return this.#closed !== undefined
  }

  /** Sends a frame without waiting for an answer (ack, hello). */
  send(frame: object): Promise<void> {
    const bytes = encodeFrame(frame)
    const write = this.#writes.then(() => this.#writer.write(bytes))
    this.#writes = write.catch(() => {})
    return write
  }

  /** Waits for the relay's hello (the first frame it sends). */
  hello(timeoutMs: number): Promise<FieldReader> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new RelayError('timeout', `no hello from the relay within ${timeoutMs} ms`)), timeoutMs)
      this.#helloWaiter = (fields) => {
        clearTimeout(timer)
        resolve(fields)
      }
      this.#pending.set(0, {
        resolve: () => {},
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        },
        timer,
      })
    })
  }

  /** Sends a request and resolves with the fields of its `ok` reply; rejects with the relay's error. */
  request(frame: Record<string, unknown> & { t: string }): Promise<FieldReader> {
    if (this.#closed !== undefined) return Promise.reject(this.#closedError())
    const requestId = this.#nextId++
    return new Promise<FieldReader>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(requestId)
        reject(new RelayError('timeout', `no reply to ${frame.t} within ${this.#options.requestTimeoutMs} ms`, { requestId }))
      }, this.#options.requestTimeoutMs)
      this.#pending.set(requestId, { resolve, reject, timer })
      this.send({ ...frame, requestId }).catch((cause: unknown) => {
        this.#settle(requestId)?.reject(new RelayError('closed', 'the control stream is closed', { cause, requestId }))
      })
    })
  }

  #settle(requestId: number): Pending | undefined {
    const pending = this.#pending.get(requestId)
    if (!pending) return undefined
    this.#pending.delete(requestId)
    clearTimeout(pending.timer)
    return pending
  }

  async #read(): Promise<void> {
    const reader = this.#stream.readable.getReader()
    const decoder = new FrameDecoder(MAX_FRAME_BYTES)
    let error: RelayError | undefined
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        for (const payload of decoder.push(value)) this.#handle(payload)
        if (this.#closed !== undefined) break
      }
    } catch (cause) {
      if (cause instanceof RelayError) error = cause
      else if (cause instanceof FrameTooLargeError || cause instanceof FrameError) error = new RelayError('protocol-error', `the relay sent a bad frame: ${cause.message}`, { cause })
      else error = new RelayError('closed', 'the control stream failed', { cause })
    } finally {
      reader.releaseLock()
    }
    if (error?.code === 'protocol-error') void this.#stream.close({ code: 'protocol-error' }).catch(() => {})
    this.#finish(error ?? this.#fatal)
  }

  #handle(payload: Uint8Array): void {
    const { t, fields } = decodeJsonObject(payload)
    if (t === 'hello') {
      const waiter = this.#helloWaiter
      this.#helloWaiter = undefined
      this.#pending.delete(0)
      if (!waiter) throw new FrameError('unexpected hello')
      waiter(new FieldReader(fields, 'hello'))
      return
    }
    if (t === 'ok' || t === 'error') return this.#reply(t, fields)
    this.#options.onPush({ t, fields: new FieldReader(fields, t) })
  }

  #reply(t: 'ok' | 'error', fields: Fields): void {
    const reader = new FieldReader(fields, t)
    const requestId = reader.has('requestId') ? reader.integer('requestId', 0, Number.MAX_SAFE_INTEGER) : undefined
    if (t === 'ok') {
      if (requestId === undefined) throw new FrameError('ok frame without requestId')
      this.#settle(requestId)?.resolve(reader)
      return
    }
    const rawCode = reader.string('code', 64)
    const code = isProtocolErrorCode(rawCode) ? rawCode : 'internal-error'
    const message = reader.string('message', 2_000)
    const retryAfterMs = reader.has('retryAfterMs') ? reader.integer('retryAfterMs', 0, Number.MAX_SAFE_INTEGER) : undefined
    const error = new RelayError(code, `relay: ${message}`, {
      ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      ...(requestId === undefined ? {} : { requestId }),
    })
    const pending = requestId === undefined ? undefined : this.#settle(requestId)
    if (pending) pending.reject(error)
    else if (requestId === undefined) {
      // Not an answer: the relay is about to close, or reports a violation; either way, remember it.
      this.#fatal = error
      this.#options.onPush({ t: 'error', fields: reader })
    }
  }

  #closedError(): RelayError {
    return this.#closed ?? new RelayError('closed', 'the relay connection is closed')
  }

  #finish(error: RelayError | undefined): void {
    if (this.#closed !== undefined) return
    this.#closed = error ?? null
    // Our side ends too, so the relay's read loop sees EOF.
    void this.#writes.then(() => this.#writer.close()).catch(() => {})
    const failure = error ?? new RelayError('closed', 'the relay closed the control stream')
    for (const id of [...this.#pending.keys()]) this.#settle(id)?.reject(failure)
    this.#options.onClose(error)
  }

  /** Ends our side (EOF) and waits, bounded, for the relay to end its side. */
  async close(waitMs = 2_000): Promise<void> {
    await this.#writes
    await this.#writer.close().catch(() => {})
    let timer: ReturnType<typeof setTimeout> | undefined
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, waitMs)
    })
    await Promise.race([this.#reading, timeout])
    clearTimeout(timer)
    if (this.#closed === undefined) {
      await this.#stream.close().catch(() => {})
      this.#finish(undefined)
    }
  }

  /** Tears the stream down at once (abort, protocol error). */
  abort(error: RelayError): void {
    if (this.#closed !== undefined) return
    void this.#stream.close({ code: 'cancelled' }).catch(() => {})
    this.#finish(error)
  }
}
