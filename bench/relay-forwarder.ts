/**
 * The relay bench's baseline server: a trivial forwarder on a Keypin
 * listener. No login, no JSON, no storage, no acknowledgements: it is what
 * moving a message from one QUIC client to another through a server costs
 * at the least, the ceiling the relay runs under.
 *
 * Wire (one bidirectional stream per client, frames are a 4-byte
 * big-endian length and a payload, as in the relay protocol):
 *   client → forwarder, first frame: u32 client index (who I am)
 *   client → forwarder: u32 recipient index, then the message bytes
 *   forwarder → client: u32 sender index, then the message bytes
 * A frame for an index nobody has claimed is dropped and counted.
 */
import type { Connection, Listener } from '@keypin/core'
import { FrameDecoder, concatFrames } from '@keypin/relay'

export interface ForwarderStats {
  forwarded: number
  unroutable: number
}

export interface Forwarder {
  readonly stats: ForwarderStats
  close(): void
}

export function startForwarder(listener: Listener): Forwarder {
  const peers = new Map<number, Outbound>()
  const stats: ForwarderStats = { forwarded: 0, unroutable: 0 }
  const connections = new Set<Connection>()

  async function serve(connection: Connection): Promise<void> {
    connections.add(connection)
    let index = -1
    try {
      const stream = await connection.acceptStream()
      const outbound = new Outbound(stream.writable.getWriter())
      const reader = stream.readable.getReader()
      const decoder = new FrameDecoder()
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        for (const payload of decoder.push(value)) {
          if (payload.byteLength < 4) throw new Error('short frame')
          const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
          if (index < 0) {
            index = view.getUint32(0)
            peers.set(index, outbound)
            continue
          }
          const target = peers.get(view.getUint32(0))
          if (!target) {
            stats.unroutable++
            continue
          }
          // Same length as the inbound frame: the recipient index is swapped for the sender's.
          const frame = new Uint8Array(4 + payload.byteLength)
          const out = new DataView(frame.buffer)
          out.setUint32(0, payload.byteLength)
          out.setUint32(4, index)
          frame.set(payload.subarray(4), 8)
          target.push(frame)
          stats.forwarded++
        }
      }
    } catch {
      // The client went away.
    } finally {
      if (index >= 0) peers.delete(index)
      connections.delete(connection)
      await connection.close().catch(() => {})
    }
  }

  void (async () => {
    for await (const connection of listener) void serve(connection)
  })().catch(() => {})

  return {
    stats,
    close: () => {
      for (const connection of connections) void connection.close().catch(() => {})
    },
  }
}

/** Frames queued while a write is in flight are joined into the next write (the relay's outbound queue does the same). */
class Outbound {
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>
  #queue: Uint8Array[] = []
  #writing = false

  constructor(writer: WritableStreamDefaultWriter<Uint8Array>) {
    this.#writer = writer
    writer.closed.catch(() => {})
  }

  push(frame: Uint8Array): void {
    this.#queue.push(frame)
    if (!this.#writing) void this.#drain()
  }

  async #drain(): Promise<void> {
    this.#writing = true
    try {
      while (this.#queue.length > 0) {
        const frames = this.#queue
        this.#queue = []
        await this.#writer.write(concatFrames(frames))
      }
    } catch {
      this.#queue = []
    } finally {
      this.#writing = false
    }
  }
}
