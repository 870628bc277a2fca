/**
 * A connection's outbound frame queue. Frames queued in the same
 * synchronous run (the replies and deliveries of one store commit) and
 * frames queued while a write is in flight are joined into one write, so a
 * burst becomes few stream writes (and few packets). The queue is bounded
 * by the caller: `bytes` counts everything not yet accepted by the stream,
 * which is how a client that does not read is recognised.
 */
import { concatFrames } from '../protocol/frame.js'

export class Outbound {
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>
  readonly #onProgress: () => void
  #queue: Uint8Array[] = []
  #bytes = 0
  #writing: Promise<void> | undefined
  #ending: Promise<void> | undefined

  /** `onProgress` runs after each write the stream accepted (delivery may resume). */
  constructor(writer: WritableStreamDefaultWriter<Uint8Array>, onProgress: () => void) {
    this.#writer = writer
    this.#onProgress = onProgress
    writer.closed.catch(() => {})
  }

  /** Bytes queued or in flight. */
  get bytes(): number {
    return this.#bytes
  }

  get ended(): boolean {
    return this.#ending !== undefined
  }

  /** Queues an encoded frame; ignored once end() was called. */
  push(frame: Uint8Array): void {
    if (this.#ending) return
    this.#queue.push(frame)
    this.#bytes += frame.byteLength
    this.#writing ??= this.#drain()
  }

  async #drain(): Promise<void> {
    // One microtask: the frames the current synchronous run still queues join the first write.
    await undefined
    try {
      while (this.#queue.length > 0) {
        const frames = this.#queue
        this.#queue = []
        const data = concatFrames(frames)
        await this.#writer.write(data)
        this.#bytes -= data.byteLength
        this.#onProgress()
      }
    } catch {
      // The stream failed: the session's read side ends too, and the session with it.
      this.#queue = []
      this.#bytes = 0
    } finally {
      this.#writing = undefined
    }
  }

  /** Writes what is queued (plus `last`, if given), then EOF. Settles when done or failed. */
  end(last?: Uint8Array): Promise<void> {
    if (last && !this.#ending) this.push(last)
    this.#ending ??= (async () => {
      await this.#writing
      await this.#writer.close().catch(() => {})
    })()
    return this.#ending
  }
}
