/**
 * A Keypin listener in a process of its own, for tests that watch it from
 * outside (resident memory, descriptors through /proc) or run it in another
 * network namespace. It echoes every stream (each byte back, then EOF) and
 * every datagram, and keeps no per-connection record beyond a short tail of
 * how recent connections ended, so its own bookkeeping cannot look like a
 * leak.
 *
 * Started by tests through ipc.ts with the listen() options as its argument
 * (run node with --expose-gc to make the `gc` request work). Requests:
 *   stats   listener.stats plus connection counts
 *   gc      full garbage collections, then memory figures
 *   ended   how the most recent connections ended, with timestamps
 *   close   closes the listener and reports the final stats
 * Not a test file.
 */
import { listen, type CloseInfo, type Connection, type ListenOptions } from '@keypin/server'
import { helperArgs, serveParent } from './ipc.js'

export interface ListenerReady {
  address: string
  pid: number
}

export interface EndRecord {
  transport: string
  code: string
  initiator: string
  /** Date.now() when `closed` settled. */
  at: number
  /** How long the connection lived (ms). */
  lived: number
}

export interface ListenerStatus {
  stats: Record<string, number>
  accepted: number
  open: number
  endedByCode: Record<string, number>
}

const ENDED_KEPT = 64

const listener = await listen(helperArgs<ListenOptions>())
let accepted = 0
let open = 0
const ended: EndRecord[] = []
const endedByCode: Record<string, number> = {}

function serve(connection: Connection): void {
  accepted++
  open++
  const started = Date.now()
  void connection.closed.then((info: CloseInfo) => {
    open--
    const key = `${connection.transport}:${info.code}`
    endedByCode[key] = (endedByCode[key] ?? 0) + 1
    ended.push({ transport: connection.transport, code: info.code, initiator: info.initiator, at: Date.now(), lived: Date.now() - started })
    if (ended.length > ENDED_KEPT) ended.shift()
  })
  void (async () => {
    try {
      for await (const datagram of connection.datagrams.incoming) await connection.datagrams.send(datagram)
    } catch {
      // The connection ended.
    }
  })()
  void (async () => {
    try {
      for await (const stream of connection.incomingStreams()) stream.readable.pipeTo(stream.writable).catch(() => {})
    } catch {
      // The connection ended.
    }
  })()
}

const serving = (async () => {
  for await (const connection of listener) serve(connection)
})()

function status(): ListenerStatus {
  return { stats: { ...listener.stats }, accepted, open, endedByCode: { ...endedByCode } }
}

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

const parent = serveParent({
  stats: () => status(),
  async gc() {
    const gc = (globalThis as { gc?: () => void }).gc
    if (!gc) throw new Error('start this helper with --expose-gc')
    // A few rounds with pauses: native objects are released by finalizers
    // that run after a collection, and may free more on the next one.
    for (let i = 0; i < 4; i++) {
      gc()
      await delay(50)
    }
    return process.memoryUsage()
  },
  ended: () => ended.slice(),
  async close() {
    await listener.close()
    await serving
    return status()
  },
})
parent.ready({ address: listener.address, pid: process.pid } satisfies ListenerReady)
