/**
 * Dial latency: fresh dial + open stream + write 1 byte and FIN + first byte
 * of the echo, repeated (after uncounted warm-ups) within the impl's budget;
 * p50 and p99 of the counted samples. Closing each connection is not timed.
 */
import { performance } from 'node:perf_hooks'
import { errorText } from './common.js'
import type { ClientConn } from './dialers.js'
import type { Impl } from './impls.js'
import type { Tracker } from './measure.js'
import type { ServerChild } from './server-child.js'
import { withTimeout } from './timing.js'

export interface Latency {
  p50: number
  p99: number
  count: number
  failures: number
  lastFailure: string | undefined
}

/** The measurement's hard limit: the dial budget plus 10 s. */
export function latencyLimitMs(impl: Impl): number {
  return impl.plan.dialBudgetMs + 10_000
}

export async function dialLatency(impl: Impl, server: ServerChild, tracker: Tracker): Promise<Latency> {
  const plan = impl.plan
  const samples: number[] = []
  let failures = 0
  let consecutive = 0
  let lastFailure: string | undefined
  const budgetEnd = performance.now() + plan.dialBudgetMs
  for (let i = 0; i < plan.warmup + plan.dials && performance.now() < budgetEnd && !tracker.aborted; i++) {
    let conn: ClientConn | undefined
    try {
      const t0 = performance.now()
      const attempt = async (): Promise<number> => {
        conn = tracker.track(await impl.dial(server))
        const stream = await conn.openStream()
        const writer = stream.writable.getWriter()
        writer.write(Uint8Array.of(0x2a)).catch(() => {})
        const closing = writer.close()
        closing.catch(() => {})
        const reader = stream.readable.getReader()
        const { value, done } = await reader.read()
        const t1 = performance.now()
        if (done || value.byteLength < 1 || value[0] !== 0x2a) throw new Error('ping stream ended without the echo')
        return t1 - t0
      }
      const ms = await withTimeout(attempt(), 5_000, 'dial + ping')
      if (i >= plan.warmup) samples.push(ms)
      consecutive = 0
    } catch (error) {
      failures++
      consecutive++
      lastFailure = errorText(error)
      if (consecutive >= 5) throw new Error(`5 dial+ping attempts in a row failed; last: ${lastFailure}`)
    } finally {
      if (conn) await tracker.closeOne(conn)
    }
  }
  if (samples.length === 0) throw new Error(`no successful dial+ping${lastFailure ? `; last: ${lastFailure}` : ''}`)
  samples.sort((a, b) => a - b)
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), count: samples.length, failures, lastFailure }
}

/** Nearest-rank percentile of ascending samples. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index] as number
}
