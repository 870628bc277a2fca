/**
 * `npm run bench`: Keypin against the @matrixai/quic baseline on loopback, and
 * Keypin over WebRTC (Node) against two raw node-datachannel peers, connected
 * directly and through a bare JS relay hop in the server child.
 *
 * Each measurement gets a fresh server child (bench/dist/server.js, forked,
 * so client and server do not share an event loop) and a hard time limit.
 * A failed or timed-out measurement is reported in its table cell and the
 * bench moves on. The markdown table is printed and written to
 * bench/results/latest.md.
 *
 * This file only orchestrates: the implementations are in impls.ts, the
 * harness in measure.ts, each measurement in measure-*.ts, the table in
 * report.ts.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { errorText } from './common.js'
import nodeDataChannel from 'node-datachannel'
import { CHROMIUM_PLAN, IMPLS, KEYPIN_QUIC, KEYPIN_WEBRTC, MATRIXAI_QUIC, NDC_DIRECT, NDC_RELAYED, type Impl } from './impls.js'
import { machineFacts } from './machine.js'
import { measure, type Outcome } from './measure.js'
import { datagrams, DATAGRAMS_LIMIT_MS } from './measure-datagrams.js'
import { dialLatency, latencyLimitMs, type Latency } from './measure-latency.js'
import { browserDialLatency } from './measure-browser-latency.js'
import { memory, MEMORY_LIMIT_MS } from './measure-memory.js'
import { throughput, throughputLimitMs } from './measure-throughput.js'
import { oddities } from './oddities.js'
import { GLOBAL_LIMIT_MS, STREAMS } from './params.js'
import { renderReport, type Results } from './report.js'

/** What each implementation's measurements produced so far; the watchdog may report it half-filled. */
const results = new Map<Impl, Results>()
let chromiumLatency: Outcome<Latency> | undefined

function resultsOf(impl: Impl): Results {
  let r = results.get(impl)
  if (!r) results.set(impl, (r = {}))
  return r
}

/** Turns per-attempt trouble inside successful measurements into notes. */
function collectNotes(): void {
  for (const impl of IMPLS) {
    const r = resultsOf(impl)
    const dg = r.datagrams
    if (dg?.ok && dg.value !== 'n/a' && dg.value.firstSendError) {
      oddities.push(`${impl.label} datagrams: ${dg.value.sendErrors} of ${dg.value.sent} send() calls rejected; first: ${dg.value.firstSendError}`)
    }
    const lat = r.latency
    if (lat?.ok && lat.value.failures > 0) oddities.push(`${impl.label} dial latency: ${lat.value.failures} attempts failed; last: ${lat.value.lastFailure}`)
  }
}

async function finish(code: number): Promise<never> {
  const markdown = renderReport({
    runAt: new Date(),
    machine: machineFacts(),
    keypin: resultsOf(KEYPIN_QUIC),
    baseline: resultsOf(MATRIXAI_QUIC),
    webrtc: resultsOf(KEYPIN_WEBRTC),
    direct: resultsOf(NDC_DIRECT),
    relayed: resultsOf(NDC_RELAYED),
    chromiumLatency,
    notes: oddities,
  })
  // run.js lives in bench/dist/, so this is bench/results/.
  const dir = new URL('../results/', import.meta.url)
  await mkdir(dir, { recursive: true })
  await writeFile(new URL('latest.md', dir), markdown)
  process.stdout.write(`${markdown}\n`)
  process.stderr.write('Written to bench/results/latest.md\n')
  // Stops node-datachannel's threads (the WebRTC measurements' peers).
  try {
    nodeDataChannel.cleanup()
  } catch {
    // Exiting anyway.
  }
  process.exit(code)
}

process.on('uncaughtException', (error) => {
  oddities.push(`uncaught exception in the client process: ${errorText(error)}`)
})
process.on('unhandledRejection', (error) => {
  oddities.push(`unhandled rejection in the client process: ${errorText(error)}`)
})

setTimeout(() => {
  oddities.push(`the whole bench hit its ${GLOBAL_LIMIT_MS / 1000} s limit; later measurements did not run`)
  collectNotes()
  void finish(1)
}, GLOBAL_LIMIT_MS).unref()

async function main(): Promise<void> {
  process.stderr.write('Keypin bench (server in a child process; progress on stderr, table on stdout)\n')
  for (const impl of IMPLS) {
    const r = resultsOf(impl)
    r.single = await measure(impl, 'single-stream throughput', throughputLimitMs(impl), (s, t) => throughput(impl, s, t, 1))
    r.multi = await measure(impl, `${STREAMS}-stream throughput`, throughputLimitMs(impl), (s, t) => throughput(impl, s, t, STREAMS))
    r.latency = await measure(impl, 'dial latency', latencyLimitMs(impl), (s, t) => dialLatency(impl, s, t))
    r.datagrams = await measure(impl, 'datagrams', DATAGRAMS_LIMIT_MS, (s, t) => datagrams(impl, s, t))
    if (impl.memory !== false) r.memory = await measure(impl, 'memory', MEMORY_LIMIT_MS, (s, t) => memory(impl, s, t))
  }
  chromiumLatency = await measure(
    { label: 'Keypin WebRTC (Chromium)', server: 'keypin' },
    'dial latency',
    CHROMIUM_PLAN.dialBudgetMs + 20_000,
    (s, t) => browserDialLatency(CHROMIUM_PLAN, s, t),
  )
  collectNotes()
  await finish(0)
}

void main().catch((error: unknown) => {
  oddities.push(`bench aborted: ${errorText(error)}`)
  void finish(1)
})
