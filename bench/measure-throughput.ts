/**
 * Throughput: one connection per run, `streams` concurrent streams splitting
 * the impl's payload, timed from the first write to the last count reply;
 * client and server CPU per run. THROUGHPUT_REPS runs, the median reported.
 * A server with a relay hop (ndc-relayed) also reports what crossed it.
 */
import { performance } from 'node:perf_hooks'
import { decodeCount, errorText, type RelayStats } from './common.js'
import type { Impl } from './impls.js'
import type { Tracker } from './measure.js'
import { CHUNK, MB, THROUGHPUT_REPS } from './params.js'
import type { ServerChild } from './server-child.js'
import { withTimeout } from './timing.js'

export interface Throughput {
  /** Every run, in order; the figures below are the median run's (CPU: summed over all runs). */
  runs: Run[]
  bytes: number
  seconds: number
  mbps: number
  /** CPU seconds per GB over all runs together. */
  clientCpuPerGb: number
  serverCpuPerGb: number
  /** Runs that hit the write time cap. */
  capped: number
  /** The server child's relay hop over the whole measurement (every run); undefined without one. */
  hop: RelayStats | undefined
}

export interface Run {
  bytes: number
  seconds: number
  mbps: number
  clientCpu: number
  serverCpu: number
  capped: boolean
}

/** The measurement's hard limit: every run may use its write cap plus 10 s. */
export function throughputLimitMs(impl: Impl): number {
  return THROUGHPUT_REPS * (impl.plan.writeCapMs + 10_000) + 5_000
}

export async function throughput(impl: Impl, server: ServerChild, tracker: Tracker, streams: number): Promise<Throughput> {
  const runs: Run[] = []
  for (let rep = 0; rep < THROUGHPUT_REPS; rep++) {
    try {
      runs.push(await withTimeout(throughputRun(impl, server, tracker, streams), impl.plan.writeCapMs + 10_000, 'throughput run'))
    } catch (error) {
      throw new Error(`run ${rep + 1} of ${THROUGHPUT_REPS}: ${errorText(error)}`)
    }
  }
  const median = [...runs].sort((a, b) => a.mbps - b.mbps)[Math.floor(runs.length / 2)] as Run
  const gb = runs.reduce((sum, run) => sum + run.bytes, 0) / 1e9
  // The child is fresh per measurement, so its totals cover exactly these runs.
  const hop = (await server.stats()).relay
  return {
    runs,
    bytes: median.bytes,
    seconds: median.seconds,
    mbps: median.mbps,
    clientCpuPerGb: runs.reduce((sum, run) => sum + run.clientCpu, 0) / gb,
    serverCpuPerGb: runs.reduce((sum, run) => sum + run.serverCpu, 0) / gb,
    capped: runs.filter((run) => run.capped).length,
    hop,
  }
}

async function throughputRun(impl: Impl, server: ServerChild, tracker: Tracker, streams: number): Promise<Run> {
  const plan = impl.plan
  const conn = tracker.track(await impl.dial(server))
  const chunk = new Uint8Array(CHUNK).fill(0x61)
  const perStream = Math.floor(plan.bytes / streams)
  const serverBefore = await server.stats()
  const cpuBefore = process.cpuUsage()
  const t0 = performance.now()
  const deadline = t0 + plan.writeCapMs
  let capped = false
  const sent = await Promise.all(
    Array.from({ length: streams }, async (_, index) => {
      const stream = await conn.openStream()
      const writer = stream.writable.getWriter()
      let written = 0
      while (written < perStream && !tracker.aborted) {
        if (performance.now() >= deadline) {
          capped = true
          break
        }
        const n = Math.min(CHUNK, perStream - written)
        await writer.ready
        // Errors surface through ready/close; this keeps one chunk queued ahead.
        writer.write(n === CHUNK ? chunk : chunk.subarray(0, n)).catch(() => {})
        written += n
      }
      await writer.close()
      const count = decodeCount(await readAll(stream.readable))
      if (count !== written) throw new Error(`stream ${index}: server counted ${count} bytes, client wrote ${written}`)
      return written
    }),
  )
  const seconds = (performance.now() - t0) / 1000
  const clientCpu = cpuSeconds(process.cpuUsage(cpuBefore))
  const serverAfter = await server.stats()
  const bytes = sent.reduce((a, b) => a + b, 0)
  const serverCpu = (serverAfter.cpuUser + serverAfter.cpuSystem - serverBefore.cpuUser - serverBefore.cpuSystem) / 1e6
  await tracker.closeOne(conn)
  return { bytes, seconds, mbps: bytes / MB / seconds, clientCpu, serverCpu, capped }
}

function cpuSeconds(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1e6
}

async function readAll(readable: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const reader = readable.getReader()
  const parts: Uint8Array[] = []
  let length = 0
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    parts.push(value)
    length += value.byteLength
  }
  const out = new Uint8Array(length)
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.byteLength
  }
  return out
}
