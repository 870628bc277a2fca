/**
 * Dial latency from a real Chromium page: the same measurement as
 * measure-latency.ts (fresh dial + open stream + 1 byte and FIN + first byte
 * of the echo), but the loop runs inside the page against the browser bundle,
 * so the numbers include Chromium's own WebRTC stack and no Node glue.
 */
import { openBrowser } from '@keypin/tests/browser-harness'
import type { Plan } from './impls.js'
import { percentile, type Latency } from './measure-latency.js'
import type { Tracker } from './measure.js'
import type { ServerChild } from './server-child.js'

interface PageSamples {
  samples: number[]
  failures: number
  lastFailure: string | undefined
}

export async function browserDialLatency(plan: Plan, server: ServerChild, tracker: Tracker): Promise<Latency> {
  const session = await openBrowser()
  try {
    const result = await session.page.evaluate(
      async ({ address, dials, warmup, budgetMs }): Promise<PageSamples> => {
        const { dial } = (await import(`${location.origin}/browser.js`)) as {
          dial(address: string, options?: { signal?: AbortSignal }): Promise<{
            openStream(): Promise<{ readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> }>
            close(): Promise<void>
          }>
        }
        const samples: number[] = []
        let failures = 0
        let lastFailure: string | undefined
        const end = performance.now() + budgetMs
        for (let i = 0; i < warmup + dials && performance.now() < end; i++) {
          try {
            const t0 = performance.now()
            const conn = await dial(address, { signal: AbortSignal.timeout(5_000) })
            try {
              const stream = await conn.openStream()
              const writer = stream.writable.getWriter()
              writer.write(Uint8Array.of(0x2a)).catch(() => {})
              writer.close().catch(() => {})
              const { value, done } = await stream.readable.getReader().read()
              const t1 = performance.now()
              if (done || value[0] !== 0x2a) throw new Error('ping stream ended without the echo')
              if (i >= warmup) samples.push(t1 - t0)
            } finally {
              await conn.close().catch(() => {})
            }
          } catch (error) {
            failures++
            lastFailure = String(error)
            if (failures >= 5) break
          }
        }
        return { samples, failures, lastFailure }
      },
      { address: server.ready.address, dials: plan.dials, warmup: plan.warmup, budgetMs: plan.dialBudgetMs },
    )
    if (tracker.aborted) throw new Error('aborted')
    if (result.samples.length === 0) throw new Error(`no successful dial+ping from Chromium; last: ${result.lastFailure ?? 'none'}`)
    const sorted = result.samples.sort((a, b) => a - b)
    return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), count: sorted.length, failures: result.failures, lastFailure: result.lastFailure }
  } finally {
    await session.close()
  }
}
