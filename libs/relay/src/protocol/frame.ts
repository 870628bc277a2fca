/**
 * Control-stream framing: every frame is a 4-byte big-endian payload length
 * followed by the payload, a UTF-8 JSON object. This file only cuts and
 * joins bytes; messages.ts gives the objects their meaning.
 *
 * The decoder never buffers more than one frame's worth of bytes: a length
 * prefix over the limit fails at once, before its payload arrives.
 */
import { FRAME_HEADER_BYTES, MAX_FRAME_BYTES } from './limits.js'

const encoder = new TextEncoder()

/** A frame's declared length is over the limit; the stream cannot be resynchronised. */
export class FrameTooLargeError extends Error {
  override readonly name = 'FrameTooLargeError'
  constructor(
    readonly length: number,
    readonly limit: number,
  ) {
    super(`frame of ${length} bytes is over the ${limit}-byte limit`)
  }
}

/** Encodes one frame: length prefix and JSON payload. */
export function encodeFrame(value: object): Uint8Array {
  return framePayload(encoder.encode(JSON.stringify(value)))
}

/** Prefixes raw payload bytes with their length. */
export function framePayload(payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payload.byteLength)
  new DataView(frame.buffer).setUint32(0, payload.byteLength)
  frame.set(payload, FRAME_HEADER_BYTES)
  return frame
}

/** Joins frames into one buffer (one write for many frames). */
export function concatFrames(frames: readonly Uint8Array[]): Uint8Array {
  if (frames.length === 1) return frames[0] as Uint8Array
  let total = 0
  for (const frame of frames) total += frame.byteLength
  const out = new Uint8Array(total)
  let offset = 0
  for (const frame of frames) {
    out.set(frame, offset)
    offset += frame.byteLength
  }
  return out
}

/**
 * Cuts a byte stream into frame payloads. Chunks are kept as they arrive;
 * a payload inside one chunk is a view of it, and a payload spanning chunks
 * is copied once, so a peer trickling a frame one byte at a time costs
 * linear work.
 */
export class FrameDecoder {
  readonly #limit: number
  #chunks: Uint8Array[] = []
  /** Index of the first chunk still in use (consumed ones are dropped in bulk). */
  #head = 0
  #size = 0
  /** Payload length of the frame being read, or -1 while its header is incomplete. */
  #need = -1

  constructor(maxFrameBytes: number = MAX_FRAME_BYTES) {
    this.#limit = maxFrameBytes
  }

  /** Bytes held while waiting for the rest of a frame. */
  get buffered(): number {
    return this.#size
  }

  /**
   * Adds a chunk and returns every payload it completes, in order; a payload
   * may be a view of the chunk it arrived in, so parse it before the chunk's
   * buffer is reused. Throws
   * {@link FrameTooLargeError} when a length prefix is over the limit; the
   * stream cannot be resynchronised after that.
   */
  push(chunk: Uint8Array): Uint8Array[] {
    if (chunk.byteLength > 0) {
      this.#chunks.push(chunk)
      this.#size += chunk.byteLength
    }
    const out: Uint8Array[] = []
    for (;;) {
      if (this.#need < 0) {
        if (this.#size < FRAME_HEADER_BYTES) break
        const header = this.#take(FRAME_HEADER_BYTES)
        const length = new DataView(header.buffer, header.byteOffset, FRAME_HEADER_BYTES).getUint32(0)
        if (length > this.#limit) throw new FrameTooLargeError(length, this.#limit)
        this.#need = length
      }
      if (this.#size < this.#need) break
      out.push(this.#take(this.#need))
      this.#need = -1
    }
    return out
  }

  /**
   * Removes the first `count` buffered bytes. Bytes within one chunk come
   * back as a view of it (no copy); bytes spanning chunks are joined.
   */
  #take(count: number): Uint8Array {
    const first = this.#chunks[this.#head] as Uint8Array
    if (first.byteLength >= count) {
      const out = first.subarray(0, count)
      if (first.byteLength === count) this.#head++
      else this.#chunks[this.#head] = first.subarray(count)
      this.#compact()
      this.#size -= count
      return out
    }
    const out = new Uint8Array(count)
    let filled = 0
    while (filled < count) {
      const head = this.#chunks[this.#head] as Uint8Array
      const used = Math.min(head.byteLength, count - filled)
      out.set(used === head.byteLength ? head : head.subarray(0, used), filled)
      filled += used
      if (used === head.byteLength) this.#head++
      else this.#chunks[this.#head] = head.subarray(used)
    }
    this.#compact()
    this.#size -= count
    return out
  }

  #compact(): void {
    if (this.#head === this.#chunks.length) {
      this.#chunks = []
      this.#head = 0
    } else if (this.#head > 1024) {
      this.#chunks = this.#chunks.slice(this.#head)
      this.#head = 0
    }
  }
}
