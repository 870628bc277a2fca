/**
 * Thousands of short connections must leave nothing behind: for each
 * transport (QUIC, and Node over WebRTC), 2,000 sequential cycles of dial,
 * echo one stream, close, against one listener in a child process
 * (listener-child.ts).
 * After a warm-up, the listener's open descriptors, threads, relay sockets,
 * peers and connections (listener.stats) must come back to where they were,
 * and its live JS heap and resident memory (after full garbage collections)
 * to within a small bound; this (the client) process's descriptors must
 * come back too.
 *
 * KEYPIN_LEAK_CYCLES changes the number of cycles (default 2000).
 */
import { test } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import assert from 'node:assert/strict'
import { TRANSPORTS, dialEchoClose } from './clients.js'
import type { ListenerStatus } from './listener-child.js'
import { isQuiet, listenerForFile } from './listener-status.js'
import { MiB, fdCountOf, fdKindsDiff, fdKindsOf, formatMiB, sampleOf, type ProcessSample } from './proc.js'

const CYCLES = Number(process.env.KEYPIN_LEAK_CYCLES ?? 2000)
/**
 * Cycles before the baseline. The listener's resident memory climbs during
 * the first few hundred connections of a kind (V8 grows its heap and compiles
 * the hot paths, the allocator's arenas fill) and then stays flat; a leak
 * keeps climbing after that.
 */
const WARMUP_CYCLES = 300
/** Resident memory the listener may have gained over all the cycles (measured: about 4 MiB for QUIC, 12 MiB for WebRTC). */
const RSS_BOUND = 24 * MiB
/** Live JS heap (after full collections) the listener may have gained: objects kept per connection would show here first. */
const HEAP_BOUND = 2 * MiB
/** Descriptors the listener or the client may hold above their baseline once everything has settled. */
const FD_SLACK = 0
const REPORT_EVERY = 500

const listener = listenerForFile({ host: '127.0.0.1', port: 0 })

/** Waits until the listener holds nothing, collects its garbage and samples it; fds get `ms` to come down to `fds`. */
async function settled(pid: number, fds?: number, ms = 10_000): Promise<ProcessSample & { stats: ListenerStatus; heapUsed: number }> {
  const deadline = Date.now() + ms
  let stats = await listener().request<ListenerStatus>('stats')
  while (!isQuiet(stats)) {
    if (Date.now() > deadline) assert.fail(`the listener still holds state: ${JSON.stringify(stats)}`)
    await delay(100)
    stats = await listener().request<ListenerStatus>('stats')
  }
  const memory = await listener().request<NodeJS.MemoryUsage>('gc')
  let sample = sampleOf(pid)
  while (fds !== undefined && sample.fds > fds && Date.now() < deadline) {
    await delay(100)
    sample = sampleOf(pid)
  }
  return { ...sample, stats, heapUsed: memory.heapUsed }
}

/** This process's descriptors, given `ms` to come down to `target` (closing is asynchronous). */
async function clientFds(target?: number, ms = 10_000): Promise<number> {
  const deadline = Date.now() + ms
  let fds = fdCountOf(process.pid)
  while (target !== undefined && fds > target && Date.now() < deadline) {
    await delay(100)
    fds = fdCountOf(process.pid)
  }
  return fds
}

for (const transport of TRANSPORTS) {
  test(`${transport}: ${CYCLES} dial/echo/close cycles leave the listener's and the client's resources where they started`, { timeout: 900_000 }, async (t) => {
    const { address, pid } = await listener().ready
    for (let i = 0; i < WARMUP_CYCLES; i++) await dialEchoClose(transport, address)
    const baseline = await settled(pid)
    const baselineKinds = fdKindsOf(pid)
    const clientBaseline = await clientFds()
    const clientKinds = fdKindsOf(process.pid)
    t.diagnostic(
      `${transport} baseline after ${WARMUP_CYCLES} warm-up cycles: listener RSS ${formatMiB(baseline.rss)} (JS heap ${formatMiB(baseline.heapUsed)}), ` +
        `${baseline.fds} fds, ${baseline.threads} threads; client ${clientBaseline} fds`,
    )

    const started = performance.now()
    let slowest = 0
    let lap = performance.now()
    for (let i = 1; i <= CYCLES; i++) {
      const { totalMs } = await dialEchoClose(transport, address)
      slowest = Math.max(slowest, totalMs)
      if (i % REPORT_EVERY === 0) {
        const memory = await listener().request<NodeJS.MemoryUsage>('gc')
        const now = sampleOf(pid)
        const status = await listener().request<ListenerStatus>('stats')
        t.diagnostic(
          `${transport} cycle ${i}: ${((performance.now() - lap) / REPORT_EVERY).toFixed(1)} ms per cycle; listener RSS ${formatMiB(now.rss)} ` +
            `(heap ${formatMiB(memory.heapUsed)} of ${formatMiB(memory.heapTotal)}, external ${formatMiB(memory.external)}), ` +
            `${now.fds} fds, stats ${JSON.stringify(status.stats)}; client ${fdCountOf(process.pid)} fds`,
        )
        lap = performance.now()
      }
    }
    const elapsed = performance.now() - started

    const end = await settled(pid, baseline.fds + FD_SLACK)
    const clientEnd = await clientFds(clientBaseline + FD_SLACK)
    t.diagnostic(
      `${transport}: ${CYCLES} cycles in ${(elapsed / 1000).toFixed(1)} s (${(elapsed / CYCLES).toFixed(1)} ms per cycle, slowest ${slowest.toFixed(0)} ms); ` +
        `listener RSS ${formatMiB(baseline.rss)} -> ${formatMiB(end.rss)} (JS heap ${formatMiB(baseline.heapUsed)} -> ${formatMiB(end.heapUsed)}), ` +
        `fds ${baseline.fds} -> ${end.fds}, threads ${baseline.threads} -> ${end.threads}; client fds ${clientBaseline} -> ${clientEnd}; ` +
        `connections accepted ${end.stats.accepted}, ended ${JSON.stringify(end.stats.endedByCode)}`,
    )
    assert.ok(isQuiet(end.stats), `no connection, handshake, peer or relay left: ${JSON.stringify(end.stats)}`)
    assert.ok(end.fds <= baseline.fds + FD_SLACK, `listener descriptors back to ${baseline.fds} (now ${end.fds}; by kind ${JSON.stringify(fdKindsDiff(baselineKinds, fdKindsOf(pid)))})`)
    assert.ok(clientEnd <= clientBaseline + FD_SLACK, `client descriptors back to ${clientBaseline} (now ${clientEnd}; by kind ${JSON.stringify(fdKindsDiff(clientKinds, fdKindsOf(process.pid)))})`)
    assert.ok(end.heapUsed - baseline.heapUsed < HEAP_BOUND, `listener JS heap grew by ${formatMiB(end.heapUsed - baseline.heapUsed)} (bound ${formatMiB(HEAP_BOUND)})`)
    assert.ok(end.rss - baseline.rss < RSS_BOUND, `listener RSS grew by ${formatMiB(end.rss - baseline.rss)} (bound ${formatMiB(RSS_BOUND)})`)
    assert.ok(end.threads <= baseline.threads, `no thread left behind (${baseline.threads} -> ${end.threads})`)
  })
}
