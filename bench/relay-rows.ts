/**
 * The relay bench's rows and how one row is run and summed up: the server
 * child and the generators are told start / mark / stop / drain, and their
 * samples become one RowResult (rates, latency percentiles, CPU per
 * message). Used by relay-run.ts for every target: the relay, the QUIC
 * forwarder and the raw-UDP forwarder.
 */
import { readFile } from 'node:fs/promises'
import type { Child } from './relay-ipc.js'
import type { DrainSample, WindowSample, Workload } from './relay-load.js'
import { CLOSED_WINDOW, DM_RATES, DRAIN_MS, FANOUT_RATES, GENERATORS, MEASURE_MS, ROOM_MEMBERS, WARMUP_MS } from './relay-params.js'
import type { ServerStats } from './relay-server.js'
import { sleep } from './timing.js'

/** The fan-out room as one generator sees it. */
export interface RoomPlan {
  room: string
  /** Every member's address, all generators. */
  members: string[]
  /** Per generator: the local indexes that send. */
  senders: number[][]
}

export interface RowSpec {
  key: string
  section: 'dm' | 'fanout'
  label: string
  /** Offered deliveries per second, all generators (undefined: closed loop). */
  offered?: number
  workload(gen: number, room: RoomPlan | undefined): Workload
}

export const ROWS: readonly RowSpec[] = [
  ...DM_RATES.map(
    (rate): RowSpec => ({
      key: `dm-${rate}`,
      section: 'dm',
      label: `DMs, open loop, ${rate.toLocaleString('en-US')}/s offered`,
      offered: rate,
      workload: () => ({ kind: 'dm-open', rate: rate / GENERATORS }),
    }),
  ),
  {
    key: 'dm-closed',
    section: 'dm',
    label: `DMs, closed loop, ${CLOSED_WINDOW} in flight per client`,
    workload: () => ({ kind: 'dm-closed', window: CLOSED_WINDOW }),
  },
  ...FANOUT_RATES.map(
    (rate): RowSpec => ({
      key: `fanout-${rate}`,
      section: 'fanout',
      label: `room of ${ROOM_MEMBERS}, ${rate} room messages/s offered`,
      offered: rate * (ROOM_MEMBERS - 1),
      workload: (gen, room) => {
        if (!room) throw new Error('the fan-out room was not set up')
        return { kind: 'fanout', rate: rate / GENERATORS, room: room.room, members: room.members, senders: room.senders[gen] ?? [] }
      },
    }),
  ),
]

export interface RowResult {
  windowSeconds: number
  /** Deliveries offered (asked for by sends in the window) per second, and skipped by the backlog cap. */
  offeredPerSecond: number
  skippedPerSecond: number
  deliveredPerSecond: number
  /** Send → delivery, ms, over the timed deliveries; Infinity when some had not arrived by the drain deadline. */
  p50: number
  p99: number
  timed: number
  undelivered: number
  serverCpuUsPerMessage: number
  /** Server child CPU during the window, % of one core. */
  serverCpuPercent: number
  /** Server child event loop busy during the window, % (above its CPU %: time blocked in system calls such as fsync). */
  serverLoopPercent: number
  /** Server child main thread ready but waiting for a core, % of the window (CPU contention). */
  serverWaitPercent: number | undefined
  /** Relay: store commits per second during the window, and their mean duration, ms. */
  commitsPerSecond: number | undefined
  commitMeanMs: number | undefined
  serverRssMb: number
  generatorCpuUsPerMessage: number
  /** Each generator's CPU during the window, % of one core. */
  generatorCpuPercent: number[]
  /** Relay: messages still queued (stored, not acknowledged) after the drain. */
  queuedAfter: number | undefined
  errors: number
  firstErrors: string[]
  serverErrors: string | undefined
  /** Machine-wide (Linux /proc/net/snmp) UDP datagrams received during the window per delivered message, and receive-buffer drops. */
  udpDatagramsPerMessage: number | undefined
  udpDrops: number | undefined
}

export interface RowContext {
  server: Child
  generators: Child[]
  room: RoomPlan | undefined
  /** When set, the server child is CPU-profiled during the window into this file. */
  profileFile: string | undefined
}

export async function runRow(spec: RowSpec, row: number, ctx: RowContext): Promise<RowResult> {
  const { server, generators } = ctx
  await Promise.all(generators.map((gen, g) => gen.call('start', { row, workload: spec.workload(g, ctx.room) })))
  await sleep(WARMUP_MS)
  if (ctx.profileFile) await server.call('profile-start')
  const before = await server.call<ServerStats>('stats')
  const udpBefore = await udpCounters()
  await Promise.all(generators.map((gen) => gen.call('mark')))
  await sleep(MEASURE_MS)
  const windows = await Promise.all(generators.map((gen) => gen.call<WindowSample>('stop')))
  const udpAfter = await udpCounters()
  const after = await server.call<ServerStats>('stats')
  if (ctx.profileFile) await server.call('profile-stop', { file: ctx.profileFile }, 30_000)
  const drainEnd = performance.now() + DRAIN_MS
  const drains = await Promise.all(generators.map((gen) => gen.call<DrainSample>('drain', { limitMs: DRAIN_MS }, DRAIN_MS + 10_000)))
  let settled = await server.call<ServerStats>('stats')
  while (settled.queued && performance.now() < drainEnd) {
    await sleep(50)
    settled = await server.call<ServerStats>('stats')
  }
  const udp = udpBefore && udpAfter ? { datagrams: udpAfter.datagrams - udpBefore.datagrams, drops: udpAfter.drops - udpBefore.drops } : undefined
  return summarize(windows, drains, before, after, settled, udp)
}

function summarize(
  windows: WindowSample[],
  drains: DrainSample[],
  before: ServerStats,
  after: ServerStats,
  settled: ServerStats,
  udp: { datagrams: number; drops: number } | undefined,
): RowResult {
  const windowSeconds = windows.reduce((sum, w) => sum + w.windowMs, 0) / windows.length / 1000
  const delivered = windows.reduce((sum, w) => sum + w.delivered, 0)
  const latencies = drains.flatMap((d) => d.latenciesMs).sort((a, b) => a - b)
  const expected = drains.reduce((sum, d) => sum + d.expected, 0)
  const undelivered = Math.max(0, expected - latencies.length)
  for (let i = 0; i < undelivered; i++) latencies.push(Infinity)
  // The server's figures are rates over its own clock between the two stats calls (close to, not exactly, the window).
  const serverSeconds = (after.at - before.at) / 1000
  const serverCpuUs = after.cpuUs - before.cpuUs
  const commits = after.commits === undefined || before.commits === undefined ? undefined : after.commits - before.commits
  const generatorCpuUs = windows.reduce((sum, w) => sum + w.cpuUs, 0)
  const deliveredPerSecond = delivered / windowSeconds
  const perMessage = (us: number, seconds: number): number => (delivered > 0 ? us / seconds / deliveredPerSecond : NaN)
  const lastError = settled.uncaught > 0 ? `${settled.uncaught} uncaught in the server child; last: ${settled.lastError}` : undefined
  return {
    windowSeconds,
    offeredPerSecond: windows.reduce((sum, w) => sum + w.offered, 0) / windowSeconds,
    skippedPerSecond: windows.reduce((sum, w) => sum + w.skipped, 0) / windowSeconds,
    deliveredPerSecond,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    timed: latencies.length - undelivered,
    undelivered,
    serverCpuUsPerMessage: perMessage(serverCpuUs, serverSeconds),
    serverCpuPercent: serverCpuUs / 1e4 / serverSeconds,
    serverLoopPercent: (after.loopActiveMs - before.loopActiveMs) / 10 / serverSeconds,
    serverWaitPercent: after.runQueueMs === undefined || before.runQueueMs === undefined ? undefined : (after.runQueueMs - before.runQueueMs) / 10 / serverSeconds,
    commitsPerSecond: commits === undefined ? undefined : commits / serverSeconds,
    commitMeanMs: commits ? (((after.commitSeconds ?? 0) - (before.commitSeconds ?? 0)) * 1000) / commits : undefined,
    serverRssMb: after.rss / 1e6,
    generatorCpuUsPerMessage: perMessage(generatorCpuUs, windowSeconds),
    generatorCpuPercent: windows.map((w) => w.cpuUs / 10 / w.windowMs),
    queuedAfter: settled.queued,
    errors: drains.reduce((sum, d) => sum + d.errors, 0),
    firstErrors: [...new Set(drains.flatMap((d) => d.firstErrors))].slice(0, 3),
    serverErrors: lastError,
    udpDatagramsPerMessage: udp && delivered > 0 ? udp.datagrams / delivered : undefined,
    udpDrops: udp?.drops,
  }
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number
}

/** Linux: machine-wide UDP datagrams received and receive-buffer overflows; undefined elsewhere. */
async function udpCounters(): Promise<{ datagrams: number; drops: number } | undefined> {
  try {
    const rows = (await readFile('/proc/net/snmp', 'utf8')).split('\n').filter((line) => line.startsWith('Udp:'))
    const names = rows[0]?.split(/\s+/) ?? []
    const values = rows[1]?.split(/\s+/) ?? []
    const datagrams = Number(values[names.indexOf('InDatagrams')])
    const drops = Number(values[names.indexOf('RcvbufErrors')])
    return Number.isFinite(datagrams) && Number.isFinite(drops) ? { datagrams, drops } : undefined
  } catch {
    return undefined
  }
}
