/**
 * The public datagram channel: a bounded inbound queue that drops the oldest
 * datagram when full (fresh data beats stale data for loss-tolerant traffic)
 * and a send path that checks size before the transport sees the bytes.
 */
import { KeypinError, assertBytes } from '../errors.js'
import type { DatagramChannel } from '../types.js'
import type { ConnectionTransport } from './transport.js'
import { Signal } from './waiters.js'

export const DEFAULT_DATAGRAM_QUEUE_LENGTH = 256

export class KeypinDatagrams implements DatagramChannel {
  readonly incoming: ReadableStream<Uint8Array>
  readonly #transport: ConnectionTransport
  readonly #queue: Uint8Array[] = []
  readonly #capacity: number
  #controller!: ReadableStreamDefaultController<Uint8Array>
  /** Set while a reader waits on an empty queue. */
  #pulling = false
  #error: KeypinError | undefined
  #dropped = 0
  /** Woken when the transport's send queue drains; senders wait here instead of losing data locally. */
  readonly #sendRoom = new Signal()

  constructor(transport: ConnectionTransport, capacity = DEFAULT_DATAGRAM_QUEUE_LENGTH) {
    this.#transport = transport
    this.#capacity = capacity
    // highWaterMark 0: nothing sits inside the WHATWG queue, so the bound and
    // the drop-oldest policy are entirely ours.
    this.incoming = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller
        },
        pull: () => {
          const next = this.#queue.shift()
          if (next) this.#controller.enqueue(next)
          else this.#pulling = true
        },
        cancel: () => {
          this.#queue.length = 0
        },
      },
      { highWaterMark: 0 },
    )
  }

  get maxPayloadSize(): number {
    return this.#error ? 0 : this.#transport.maxDatagramPayloadSize()
  }

  /** Datagrams discarded because the application did not read fast enough. */
  get dropped(): number {
    return this.#dropped
  }

  /**
   * Resolves once the datagram is queued for sending. When the transport's
   * queue is full this waits for room (backpressure) rather than dropping the
   * datagram silently on our own side; the network may still lose it.
   */
  async send(data: Uint8Array): Promise<void> {
    assertBytes(data, 'datagram')
    for (;;) {
      if (this.#error) throw this.#error
      const max = this.#transport.maxDatagramPayloadSize()
      if (data.byteLength > max) {
        throw new KeypinError('too-large', `datagram of ${data.byteLength} bytes exceeds the current maximum of ${max}`, {
          maxDatagramPayloadSize: max,
        })
      }
      if (this.#transport.sendDatagram(data)) return
      await this.#sendRoom.wait()
    }
  }

  /** From the adapter: the send queue has room again. */
  capacityAvailable(): void {
    this.#sendRoom.wake()
  }

  /** From the adapter: one inbound datagram (owned by us from now on). */
  receive(data: Uint8Array): void {
    if (this.#error) return
    if (this.#pulling) {
      this.#pulling = false
      this.#controller.enqueue(data)
      return
    }
    if (this.#queue.length >= this.#capacity) {
      this.#queue.shift()
      this.#dropped++
    }
    this.#queue.push(data)
  }

  fail(error: KeypinError): void {
    if (this.#error) return
    this.#error = error
    this.#sendRoom.fail(error)
    this.#queue.length = 0
    try {
      this.#controller.close()
    } catch {
      // Already cancelled by the application.
    }
  }
}
