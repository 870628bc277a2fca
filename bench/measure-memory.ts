/**
 * Memory: server child RSS after gc(), before and after MEMORY_CONNECTIONS
 * concurrent connections each holding one open stream (1 byte sent, write
 * half left open); reported per connection.
 */
import { performance } from 'node:perf_hooks'
import type { Impl } from './impls.js'
import type { Tracker } from './measure.js'
import { MB, MEMORY_CONNECTIONS, MEMORY_DIAL_BATCH } from './params.js'
import type { ServerChild } from './server-child.js'
import { sleep } from './timing.js'

export interface Memory {
  before: number
  after: number
  connections: number
  perConnection: number
}

/** The measurement's hard limit. */
export const MEMORY_LIMIT_MS = 40_000

export async function memory(impl: Impl, server: ServerChild, tracker: Tracker): Promise<Memory> {
  await sleep(200)
  const before = (await server.stats(true)).rss
  const baseline = await server.stats()
  const open = async (): Promise<void> => {
    const conn = tracker.track(await impl.dial(server))
    const stream = await conn.openStream()
    // One byte makes the stream visible to the server; the write half stays open.
    await stream.writable.getWriter().write(Uint8Array.of(1))
  }
  for (let i = 0; i < MEMORY_CONNECTIONS && !tracker.aborted; i += MEMORY_DIAL_BATCH) {
    await Promise.all(Array.from({ length: Math.min(MEMORY_DIAL_BATCH, MEMORY_CONNECTIONS - i) }, open))
  }
  // Wait until the server holds every connection with its stream open.
  let stats = await server.stats()
  const waitEnd = performance.now() + 15_000
  while (stats.streamsOpen - baseline.streamsOpen < MEMORY_CONNECTIONS && performance.now() < waitEnd && !tracker.aborted) {
    await sleep(100)
    stats = await server.stats()
  }
  const seen = stats.streamsOpen - baseline.streamsOpen
  if (seen < MEMORY_CONNECTIONS) {
    throw new Error(`server sees ${seen} of ${MEMORY_CONNECTIONS} open streams (${stats.connections} connections)`)
  }
  await sleep(200)
  const after = (await server.stats(true)).rss
  return { before, after, connections: MEMORY_CONNECTIONS, perConnection: (after - before) / MB / MEMORY_CONNECTIONS }
}
