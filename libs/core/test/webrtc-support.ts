/**
 * Byte and stream helpers shared by the WebRTC adapter tests: deterministic
 * payloads, read-all / write-all, an echo server loop and a bounded wait.
 * Not a test file itself.
 */
import type { Stream } from '@keypin/core'

/** Deterministic pseudo-random bytes, different per seed. */
export function pattern(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length)
  let x = seed >>> 0
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

export async function readAll(stream: Stream): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  let total = 0
  for await (const chunk of stream.readable) {
    chunks.push(chunk)
    total += chunk.byteLength
  }
  const out = new Uint8Array(total)
  let offset = 0
  for (const chunk of chunks) {
    out.set(chunk, offset)
    offset += chunk.byteLength
  }
  return out
}

/** Writes `data` (in pieces of at most `chunkSize`) and closes the write half. */
export async function writeAll(stream: Stream, data: Uint8Array, chunkSize = 64 * 1024): Promise<void> {
  const writer = stream.writable.getWriter()
  for (let offset = 0; offset < data.byteLength; offset += chunkSize) {
    await writer.write(data.subarray(offset, offset + chunkSize))
  }
  await writer.close()
}

/** Echoes every stream the connection accepts, until it closes. */
export function serveEcho(conn: { incomingStreams(): AsyncIterableIterator<Stream> }): void {
  void (async () => {
    for await (const stream of conn.incomingStreams()) {
      void stream.readable.pipeTo(stream.writable).catch(() => {})
    }
  })().catch(() => {})
}

/** Rejects if `promise` has not settled within `ms`, naming what was awaited. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
