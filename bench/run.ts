/**
 * `npm run bench`: Keypin against the @matrixai/quic baseline on loopback.
 *
 * Each measurement gets a fresh server child (bench/dist/server.js, forked,
 * so client and server do not share an event loop) and a hard time limit.
 * A failed or timed-out measurement is reported in its table cell and the
 * bench moves on. The markdown table is printed and written to
 * bench/results/latest.md.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { QUICClient } from '@matrixai/quic'
import { dial } from '@keypin/quic-client'
import {
  BASELINE_ALPN,
  BASELINE_IDLE_MS,
  baselineClientCrypto,
  decodeCount,
  errorText,
  silentLogger,
  type ChildMessage,
  type Impl,
  type ParentMessage,
  type ServerStats,
} from './common.js'

// ---- parameters ----

const MB = 1_000_000
const CHUNK = 64 * 1024

interface Plan {
  /** Bytes for the throughput runs (single stream, and split over 8 streams). */
  bytes: number
  /** Writing stops at this point even if `bytes` has not been reached (ms). */
  writeCapMs: number
  /** Dial latency: counted iterations, after `warmup` uncounted ones. */
  dials: number
  warmup: number
  /** Stop dialing after this long even if fewer iterations ran (ms). */
  dialBudgetMs: number
}

const PLANS: Record<Impl, Plan> = {
  keypin: { bytes: 200 * MB, writeCapMs: 5_000, dials: 200, warmup: 5, dialBudgetMs: 20_000 },
  matrixai: { bytes: 8 * MB, writeCapMs: 5_000, dials: 40, warmup: 3, dialBudgetMs: 15_000 },
}
const STREAMS = 8
/** Throughput runs per measurement (fresh connection each); the table shows the median. */
const THROUGHPUT_REPS = 3
const DATAGRAM_SIZE = 1000
const DATAGRAM_MS = 2_000
const DATAGRAM_BATCH = 64
const MEMORY_CONNECTIONS = 100
/** Keypin admits 64 handshakes per source IP by default; stay under it. */
const MEMORY_DIAL_BATCH = 20
/** Whole-bench watchdog: print what we have and exit. */
const GLOBAL_LIMIT_MS = 180_000

const LABEL: Record<Impl, string> = { keypin: 'Keypin', matrixai: '@matrixai/quic' }

// ---- small utilities ----

/** Things worth a second look, printed under the table. */
const oddities: string[] = []

type Outcome<T> = { ok: true; value: T } | { ok: false; error: string }

class TimeoutError extends Error {}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

/** Rejects with a TimeoutError after `ms`; the timer never keeps the process alive. */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what}: no result after ${(ms / 1000).toFixed(1)} s`)), ms)
    timer.unref()
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

function cpuSeconds(usage: NodeJS.CpuUsage): number {
  return (usage.user + usage.system) / 1e6
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index] as number
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

// ---- the server child ----

class ServerChild {
  readonly impl: Impl
  readonly #child: ChildProcess
  readonly #stderr: string[] = []
  readonly #pending = new Map<number, (stats: ServerStats) => void>()
  #nextId = 1
  #exited: string | undefined
  ready!: Extract<ChildMessage, { type: 'ready' }>

  private constructor(impl: Impl) {
    this.impl = impl
    const script = fileURLToPath(new URL('./server.js', import.meta.url))
    this.#child = fork(script, [impl], { execArgv: ['--expose-gc'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
    this.#child.stderr?.setEncoding('utf8')
    this.#child.stderr?.on('data', (text: string) => {
      this.#stderr.push(text)
      if (this.#stderr.length > 20) this.#stderr.shift()
    })
    this.#child.on('message', (raw) => {
      const message = raw as ChildMessage
      if (message.type === 'stats') {
        this.#pending.get(message.id)?.(message.stats)
        this.#pending.delete(message.id)
      }
    })
    this.#child.on('exit', (code, signal) => {
      this.#exited = `server child exited (${signal ?? `code ${code}`})`
    })
  }

  static async start(impl: Impl): Promise<ServerChild> {
    const server = new ServerChild(impl)
    const ready = new Promise<Extract<ChildMessage, { type: 'ready' }>>((resolve, reject) => {
      server.#child.on('message', (raw) => {
        const message = raw as ChildMessage
        if (message.type === 'ready') resolve(message)
        if (message.type === 'fatal') reject(new Error(`server child failed to start: ${message.message}`))
      })
      server.#child.on('exit', () => reject(new Error(`server child exited before it was ready: ${server.stderrTail}`)))
    })
    try {
      server.ready = await withTimeout(ready, 15_000, `${impl} server start`)
    } catch (error) {
      server.kill()
      throw error
    }
    return server
  }

  get stderrTail(): string {
    return this.#stderr.join('').trim().split('\n').slice(-3).join(' | ').slice(0, 300)
  }

  stats(gc = false): Promise<ServerStats> {
    if (this.#exited) return Promise.reject(new Error(this.#exited))
    const id = this.#nextId++
    const answer = new Promise<ServerStats>((resolve) => this.#pending.set(id, resolve))
    const message: ParentMessage = { type: 'stats', id, gc }
    this.#child.send(message)
    return withTimeout(answer, 5_000, 'server stats')
  }

  kill(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL')
  }
}

// ---- the two clients behind one interface ----

interface ClientStream {
  readable: ReadableStream<Uint8Array>
  writable: WritableStream<Uint8Array>
}

interface ClientConn {
  openStream(): Promise<ClientStream>
  /** Undefined when the implementation has no datagram API. */
  sendDatagram: ((data: Uint8Array) => Promise<void>) | undefined
  close(): Promise<void>
}

const DIAL_TIMEOUT_MS = 10_000

async function dialKeypin(server: ServerChild): Promise<ClientConn> {
  const conn = await dial(server.ready.address, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
  return {
    openStream: () => conn.openStream(),
    sendDatagram: (data) => conn.datagrams.send(data),
    close: () => conn.close(),
  }
}

async function dialMatrixai(server: ServerChild): Promise<ClientConn> {
  const client = await QUICClient.createQUICClient(
    {
      host: server.ready.host,
      port: server.ready.port,
      localHost: '127.0.0.1',
      crypto: baselineClientCrypto,
      config: { verifyPeer: false, applicationProtos: [BASELINE_ALPN], maxIdleTimeout: BASELINE_IDLE_MS },
      logger: silentLogger(),
    },
    { timer: DIAL_TIMEOUT_MS },
  )
  return {
    openStream: async () => {
      const stream = client.connection.newStream('bidi')
      // node:stream/web's classes are the global ones; only the typings differ.
      return {
        readable: stream.readable as unknown as ReadableStream<Uint8Array>,
        writable: stream.writable as unknown as WritableStream<Uint8Array>,
      }
    },
    // QUICConnection has no datagram API (quiche's is only reachable through a protected field).
    sendDatagram: undefined,
    close: () => client.destroy({ force: true }),
  }
}

const DIALERS: Record<Impl, (server: ServerChild) => Promise<ClientConn>> = { keypin: dialKeypin, matrixai: dialMatrixai }

/** Connections a measurement opened, closed (bounded) when it ends however it ends. */
class Tracker {
  readonly conns = new Set<ClientConn>()
  aborted = false

  track(conn: ClientConn): ClientConn {
    this.conns.add(conn)
    return conn
  }

  async closeOne(conn: ClientConn, ms = 2_000): Promise<void> {
    this.conns.delete(conn)
    await withTimeout(conn.close(), ms, 'close').catch(() => {})
  }

  async closeAll(): Promise<void> {
    const all = [...this.conns]
    this.conns.clear()
    await Promise.all(all.map((conn) => withTimeout(conn.close(), 3_000, 'close').catch(() => {})))
  }
}

/** Fresh server, the measurement under a hard limit, then cleanup; failures become the cell text. */
async function measure<T>(impl: Impl, name: string, limitMs: number, body: (server: ServerChild, tracker: Tracker) => Promise<T>): Promise<Outcome<T>> {
  const started = performance.now()
  process.stderr.write(`  ${LABEL[impl]}: ${name} ... `)
  let server: ServerChild | undefined
  const tracker = new Tracker()
  let outcome: Outcome<T>
  try {
    server = await ServerChild.start(impl)
    const value = await withTimeout(body(server, tracker), limitMs, name)
    outcome = { ok: true, value }
    const health = await server.stats().catch(() => undefined)
    if (health && (health.uncaught > 0 || health.streamErrors > 0)) {
      oddities.push(
        `${LABEL[impl]} ${name}: server child saw ${health.streamErrors} failed streams and ${health.uncaught} uncaught errors${health.lastError ? ` (last: ${health.lastError})` : ''}`,
      )
    }
  } catch (error) {
    tracker.aborted = true
    const tail = server?.stderrTail
    outcome = { ok: false, error: errorText(error) + (tail ? ` (server stderr: ${tail})` : '') }
  }
  await tracker.closeAll()
  server?.kill()
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  process.stderr.write(outcome.ok ? `done (${seconds} s)\n` : `FAILED (${seconds} s): ${outcome.error}\n`)
  return outcome
}

// ---- measurements ----

interface Throughput {
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
}

interface Run {
  bytes: number
  seconds: number
  mbps: number
  clientCpu: number
  serverCpu: number
  capped: boolean
}

async function throughput(impl: Impl, server: ServerChild, tracker: Tracker, streams: number): Promise<Throughput> {
  const runs: Run[] = []
  for (let rep = 0; rep < THROUGHPUT_REPS; rep++) {
    try {
      runs.push(await withTimeout(throughputRun(impl, server, tracker, streams), PLANS[impl].writeCapMs + 10_000, 'throughput run'))
    } catch (error) {
      throw new Error(`run ${rep + 1} of ${THROUGHPUT_REPS}: ${errorText(error)}`)
    }
  }
  const median = [...runs].sort((a, b) => a.mbps - b.mbps)[Math.floor(runs.length / 2)] as Run
  const gb = runs.reduce((sum, run) => sum + run.bytes, 0) / 1e9
  return {
    runs,
    bytes: median.bytes,
    seconds: median.seconds,
    mbps: median.mbps,
    clientCpuPerGb: runs.reduce((sum, run) => sum + run.clientCpu, 0) / gb,
    serverCpuPerGb: runs.reduce((sum, run) => sum + run.serverCpu, 0) / gb,
    capped: runs.filter((run) => run.capped).length,
  }
}

async function throughputRun(impl: Impl, server: ServerChild, tracker: Tracker, streams: number): Promise<Run> {
  const plan = PLANS[impl]
  const conn = tracker.track(await DIALERS[impl](server))
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

interface Latency {
  p50: number
  p99: number
  count: number
  failures: number
  lastFailure: string | undefined
}

async function dialLatency(impl: Impl, server: ServerChild, tracker: Tracker): Promise<Latency> {
  const plan = PLANS[impl]
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
        conn = tracker.track(await DIALERS[impl](server))
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

/** Linux: system-wide UDP receive-buffer overflows (`RcvbufErrors` in /proc/net/snmp); undefined elsewhere. */
async function udpRcvbufErrors(): Promise<number | undefined> {
  try {
    const rows = (await readFile('/proc/net/snmp', 'utf8')).split('\n').filter((line) => line.startsWith('Udp:'))
    const names = rows[0]?.split(/\s+/) ?? []
    const values = rows[1]?.split(/\s+/) ?? []
    const index = names.indexOf('RcvbufErrors')
    const count = index > 0 ? Number(values[index]) : NaN
    return Number.isFinite(count) ? count : undefined
  } catch {
    return undefined
  }
}

interface Datagrams {
  /** Kernel UDP receive-buffer drops during the run, whole machine (-1 if unknown). */
  kernelDropped: number
  /** Dropped by the server's bounded application queue (Keypin only; -1 if unknown). */
  appDropped: number
  sent: number
  sendErrors: number
  firstSendError: string | undefined
  received: number
  seconds: number
  perSecond: number
  ratio: number
}

async function datagrams(impl: Impl, server: ServerChild, tracker: Tracker): Promise<Datagrams | 'n/a'> {
  const conn = tracker.track(await DIALERS[impl](server))
  const send = conn.sendDatagram
  if (!send) return 'n/a'
  const payload = new Uint8Array(DATAGRAM_SIZE).fill(0x64)
  const kernelBefore = await udpRcvbufErrors()
  const statsBefore = await server.stats()
  const before = statsBefore.datagrams
  let sent = 0
  let sendErrors = 0
  let firstSendError: string | undefined
  const onError = (error: unknown): void => {
    sendErrors++
    firstSendError ??= errorText(error)
  }
  const t0 = performance.now()
  while (performance.now() - t0 < DATAGRAM_MS && !tracker.aborted) {
    // send() applies backpressure (it waits while the transport's queue is
    // full), so each batch is awaited: the rate is what the sender sustains.
    const batch: Promise<void>[] = []
    for (let i = 0; i < DATAGRAM_BATCH; i++) {
      sent++
      try {
        batch.push(send(payload).catch(onError))
      } catch (error) {
        onError(error)
      }
    }
    await Promise.all(batch)
    await yieldToLoop()
  }
  const seconds = (performance.now() - t0) / 1000
  // Let the last flights land before asking.
  await sleep(500)
  const statsAfter = await server.stats()
  const kernelAfter = await udpRcvbufErrors()
  const kernelDropped = kernelBefore === undefined || kernelAfter === undefined ? -1 : kernelAfter - kernelBefore
  const received = statsAfter.datagrams - before
  const appDropped = statsAfter.datagramsDropped < 0 ? -1 : statsAfter.datagramsDropped - statsBefore.datagramsDropped
  await tracker.closeOne(conn)
  return { kernelDropped, appDropped, sent, sendErrors, firstSendError, received, seconds, perSecond: received / seconds, ratio: received / sent }
}

interface Memory {
  before: number
  after: number
  connections: number
  perConnection: number
}

async function memory(impl: Impl, server: ServerChild, tracker: Tracker): Promise<Memory> {
  await sleep(200)
  const before = (await server.stats(true)).rss
  const baseline = await server.stats()
  const open = async (): Promise<void> => {
    const conn = tracker.track(await DIALERS[impl](server))
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

// ---- report ----

interface Results {
  single?: Outcome<Throughput>
  multi?: Outcome<Throughput>
  latency?: Outcome<Latency>
  datagrams?: Outcome<Datagrams | 'n/a'>
  memory?: Outcome<Memory>
}

const results: Record<Impl, Results> = { keypin: {}, matrixai: {} }

const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : String(n))

function cell<T>(outcome: Outcome<T> | undefined, show: (value: T) => string): string {
  if (!outcome) return 'not run (bench time limit)'
  if (!outcome.ok) return `FAILED: ${outcome.error.replace(/\|/g, '/')}`
  return show(outcome.value)
}

function value<T>(outcome: Outcome<T> | undefined, pick: (value: T) => number | undefined): number | undefined {
  return outcome?.ok ? pick(outcome.value) : undefined
}

/** >1 means Keypin is better. `higherIsBetter` picks Keypin/baseline or baseline/Keypin. */
function ratio(keypin: number | undefined, baseline: number | undefined, higherIsBetter: boolean): string {
  if (keypin === undefined || baseline === undefined || keypin <= 0 || baseline <= 0) return '—'
  return `${fmt(higherIsBetter ? keypin / baseline : baseline / keypin, 2)}×`
}

const metMissed = (ok: boolean | undefined): string => (ok === undefined ? 'unknown' : ok ? 'met' : 'MISSED')

function throughputCell(t: Throughput): string {
  const rates = t.runs.map((run) => run.mbps)
  const spread = t.runs.length > 1 ? `median of ${t.runs.length}, range ${fmt(Math.min(...rates))}–${fmt(Math.max(...rates))}; ` : ''
  return `${fmt(t.mbps)} (${spread}${fmt(t.bytes / MB)} MB in ${fmt(t.seconds, 2)} s${t.capped ? `; write time cap hit in ${t.capped} of ${t.runs.length}` : ''})`
}

function cpuPerGb(t: Throughput, which: 'client' | 'server' | 'total'): number {
  return which === 'client' ? t.clientCpuPerGb : which === 'server' ? t.serverCpuPerGb : t.clientCpuPerGb + t.serverCpuPerGb
}

function report(): string {
  const k = results.keypin
  const m = results.matrixai
  const cpus = os.cpus()
  const lines: string[] = []
  lines.push('# Keypin bench: Keypin vs @matrixai/quic 2.0.9')
  lines.push('')
  lines.push(`Run at ${new Date().toISOString()}.`)
  lines.push('')
  lines.push('## Machine')
  lines.push('')
  lines.push(`- CPU: ${cpus[0]?.model ?? 'unknown'}, ${cpus.length} cores`)
  lines.push(`- Memory: ${fmt(os.totalmem() / 2 ** 30)} GiB total`)
  lines.push(`- Node ${process.version}, ${os.type()} ${os.release()} ${os.arch()}`)
  lines.push('')
  lines.push('## Setup')
  lines.push('')
  lines.push('- Loopback 127.0.0.1. The server runs in a forked child process (fresh child per measurement); the client runs in the parent.')
  lines.push('- Server: reads every inbound stream to EOF, answers with the 8-byte byte count (a 1-byte stream gets its byte echoed), closes; counts inbound datagrams.')
  lines.push('- Both implementations use their default flow-control windows and congestion control. Baseline: `verifyPeer: false`, ALPN `keypin-bench`, key/cert from `generateIdentity()`, Retry-token crypto HMAC-SHA256, logger silenced.')
  lines.push(`- MB = 10^6 bytes. Stream writes are ${CHUNK / 1024} KiB chunks; the client keeps one chunk queued ahead (\`await writer.ready\`).`)
  lines.push(`- Throughput payload: Keypin ${PLANS.keypin.bytes / MB} MB, baseline ${PLANS.matrixai.bytes / MB} MB (its JS layer is slow; a rate is a rate); writing stops after ${PLANS.keypin.writeCapMs / 1000} s if the payload is not done. The 8-stream run splits the same total over ${STREAMS} concurrent streams on one connection. Time runs from the first write to the last count reply (connection set-up excluded).`)
  lines.push(`- Dial latency: fresh dial + open stream + write 1 byte and FIN + first byte of the echo; the connection is then closed (not timed). Keypin ${PLANS.keypin.dials} iterations, baseline ${PLANS.matrixai.dials}, after ${PLANS.keypin.warmup}/${PLANS.matrixai.warmup} uncounted warm-up dials; with few samples p99 is close to the maximum.`)
  lines.push(`- Datagrams: ${DATAGRAM_SIZE}-byte payloads for ${DATAGRAM_MS / 1000} s, ${DATAGRAM_BATCH} sends per event-loop turn (\`setImmediate\` between batches); received/s = datagrams the server application read ÷ send time; delivery = received ÷ send() calls. Loss is split where visible: Keypin's server-side application queue (its non-public \`dropped\` counter) and the kernel's UDP receive-buffer overflows (Linux \`/proc/net/snmp\` RcvbufErrors, machine-wide).`)
  lines.push(
    `- Throughput and CPU: ${THROUGHPUT_REPS} runs per cell, each on a fresh connection to the same server child; the cell shows the median run. CPU is \`process.cpuUsage()\` (user+sys) of the client process and of the server child, summed over the ${THROUGHPUT_REPS} single-stream runs, per GB of payload.`,
  )
  lines.push(`- Memory: server child RSS after \`gc()\`, before and after ${MEMORY_CONNECTIONS} concurrent connections each holding one open stream (1 byte sent, write half open).`)
  lines.push('')
  lines.push('## Results')
  lines.push('')
  lines.push('Ratio: >1 means Keypin is better (Keypin/baseline for rates; baseline/Keypin for latency, CPU and memory).')
  lines.push('')
  lines.push('| metric | Keypin | @matrixai/quic | ratio (>1 = Keypin better) | target |')
  lines.push('|---|---|---|---|---|')

  const kSingle = value(k.single, (t) => t.mbps)
  const mSingle = value(m.single, (t) => t.mbps)
  const singleRatio = kSingle !== undefined && mSingle !== undefined ? kSingle / mSingle : undefined
  lines.push(
    `| single-stream throughput (MB/s) | ${cell(k.single, throughputCell)} | ${cell(m.single, throughputCell)} | ${ratio(kSingle, mSingle, true)} | ≥ 40 MB/s: ${metMissed(kSingle === undefined ? undefined : kSingle >= 40)}; ≥ 25× baseline: ${metMissed(singleRatio === undefined ? undefined : singleRatio >= 25)} |`,
  )
  lines.push(
    `| ${STREAMS}-stream throughput (MB/s, one connection) | ${cell(k.multi, throughputCell)} | ${cell(m.multi, throughputCell)} | ${ratio(value(k.multi, (t) => t.mbps), value(m.multi, (t) => t.mbps), true)} | |`,
  )
  const latencyCell = (pick: 'p50' | 'p99') => (l: Latency): string =>
    `${fmt(l[pick], 2)} (n=${l.count}${l.failures ? `, ${l.failures} failed` : ''})`
  const kP50 = value(k.latency, (l) => l.p50)
  lines.push(
    `| dial → first byte p50 (ms) | ${cell(k.latency, latencyCell('p50'))} | ${cell(m.latency, latencyCell('p50'))} | ${ratio(kP50, value(m.latency, (l) => l.p50), false)} | < 5 ms: ${metMissed(kP50 === undefined ? undefined : kP50 < 5)} |`,
  )
  lines.push(
    `| dial → first byte p99 (ms) | ${cell(k.latency, latencyCell('p99'))} | ${cell(m.latency, latencyCell('p99'))} | ${ratio(value(k.latency, (l) => l.p99), value(m.latency, (l) => l.p99), false)} | |`,
  )
  const dgramRate = (d: Datagrams | 'n/a'): string =>
    d === 'n/a'
      ? 'n/a (no datagram API)'
      : `${Math.round(d.perSecond)} (${d.received} of ${d.sent} sent${d.appDropped >= 0 ? `; ${d.appDropped} dropped by the server's app queue` : ''}${d.kernelDropped >= 0 ? `; ${d.kernelDropped} kernel UDP rcvbuf drops` : ''}${d.sendErrors ? `; ${d.sendErrors} send() rejected` : ''})`
  const dgramRatio = (d: Datagrams | 'n/a'): string => (d === 'n/a' ? 'n/a (no datagram API)' : `${fmt(d.ratio * 100)} %`)
  const rateOf = (o: Outcome<Datagrams | 'n/a'> | undefined): number | undefined => value(o, (d) => (d === 'n/a' ? undefined : d.perSecond))
  lines.push(
    `| datagrams received/s (${DATAGRAM_SIZE} B) | ${cell(k.datagrams, dgramRate)} | ${cell(m.datagrams, dgramRate)} | ${ratio(rateOf(k.datagrams), rateOf(m.datagrams), true)} | |`,
  )
  lines.push(`| datagram delivery ratio | ${cell(k.datagrams, dgramRatio)} | ${cell(m.datagrams, dgramRatio)} | — | |`)
  for (const which of ['client', 'server', 'total'] as const) {
    const show = (t: Throughput): string => fmt(cpuPerGb(t, which), 2)
    lines.push(
      `| CPU s per GB, single stream (${which}) | ${cell(k.single, show)} | ${cell(m.single, show)} | ${ratio(value(k.single, (t) => cpuPerGb(t, which)), value(m.single, (t) => cpuPerGb(t, which)), false)} | |`,
    )
  }
  const memCell = (mem: Memory): string => `${fmt(mem.perConnection, 3)} (RSS ${fmt(mem.before / MB)} → ${fmt(mem.after / MB)} MB)`
  lines.push(
    `| server RSS per connection with 1 open stream (MB) | ${cell(k.memory, memCell)} | ${cell(m.memory, memCell)} | ${ratio(value(k.memory, (x) => x.perConnection), value(m.memory, (x) => x.perConnection), false)} | |`,
  )
  if (oddities.length > 0) {
    lines.push('')
    lines.push('## Notes from this run')
    lines.push('')
    for (const note of oddities) lines.push(`- ${note}`)
  }
  lines.push('')
  return lines.join('\n')
}

async function finish(code: number): Promise<never> {
  const markdown = report()
  // run.js lives in bench/dist/, so this is bench/results/.
  const dir = new URL('../results/', import.meta.url)
  await mkdir(dir, { recursive: true })
  await writeFile(new URL('latest.md', dir), markdown)
  process.stdout.write(`${markdown}\n`)
  process.stderr.write('Written to bench/results/latest.md\n')
  process.exit(code)
}

// ---- main ----

function collectNotes(): void {
  for (const impl of ['keypin', 'matrixai'] as const) {
    const r = results[impl]
    const dg = r.datagrams
    if (dg?.ok && dg.value !== 'n/a' && dg.value.firstSendError) {
      oddities.push(`${LABEL[impl]} datagrams: ${dg.value.sendErrors} of ${dg.value.sent} send() calls rejected; first: ${dg.value.firstSendError}`)
    }
    const lat = r.latency
    if (lat?.ok && lat.value.failures > 0) oddities.push(`${LABEL[impl]} dial latency: ${lat.value.failures} attempts failed; last: ${lat.value.lastFailure}`)
  }
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
  for (const impl of ['keypin', 'matrixai'] as const) {
    const plan = PLANS[impl]
    const limit = THROUGHPUT_REPS * (plan.writeCapMs + 10_000) + 5_000
    results[impl].single = await measure(impl, 'single-stream throughput', limit, (s, t) => throughput(impl, s, t, 1))
    results[impl].multi = await measure(impl, `${STREAMS}-stream throughput`, limit, (s, t) => throughput(impl, s, t, STREAMS))
    results[impl].latency = await measure(impl, 'dial latency', plan.dialBudgetMs + 10_000, (s, t) => dialLatency(impl, s, t))
    results[impl].datagrams = await measure(impl, 'datagrams', DATAGRAM_MS + 15_000, (s, t) => datagrams(impl, s, t))
    results[impl].memory = await measure(impl, 'memory', 40_000, (s, t) => memory(impl, s, t))
  }
  collectNotes()
  await finish(0)
}

void main().catch((error: unknown) => {
  oddities.push(`bench aborted: ${errorText(error)}`)
  void finish(1)
})
