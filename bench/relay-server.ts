/**
 * The relay bench's server child: `node bench/dist/relay-server.js relay|forwarder|udp <dir>`
 * (forked by relay-run.ts).
 *
 * `relay`: listen() on 127.0.0.1:0 (QUIC only) and startRelay() with its
 * database in `<dir>`, default logger (JSON lines on stderr) and the bench
 * limits. `forwarder`: the same listener with the trivial forwarder
 * (relay-forwarder.ts). `udp`: no Keypin listener, only the raw-UDP
 * forwarder's socket (relay-udp-forwarder.ts). Calls: `stats` (CPU time,
 * RSS, the relay's or a forwarder's counters), `profile-start` /
 * `profile-stop` (a V8 CPU profile of this process, written as a
 * .cpuprofile file). Exits when the parent disconnects.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { listen, type KeypinListener } from '@keypin/server'
import { startRelay as packagedStartRelay, type RelayServer } from '@keypin/relay/server'
import { startForwarder, type Forwarder } from './relay-forwarder.js'
import { fatal, ready, serve } from './relay-ipc.js'
import { RELAY_LIMITS } from './relay-params.js'
import { startUdpForwarder } from './relay-udp-forwarder.js'

export type ServerTarget = 'relay' | 'forwarder' | 'udp'

export interface ServerStats {
  /** performance.now() of this process when the stats were taken, ms. */
  at: number
  /** process.cpuUsage() user + system, microseconds. */
  cpuUs: number
  rss: number
  /** Relay only: messages stored and not yet acknowledged, and routed since start. */
  queued?: number
  routed?: number
  /** Forwarders (QUIC and UDP) only: messages forwarded, and messages for (or, UDP, from) an unknown index. */
  forwarded?: number
  unroutable?: number
  /** performance.eventLoopUtilization() totals: time the event loop was busy (not waiting for events), ms. */
  loopActiveMs: number
  /** Linux: time the main thread was ready to run but waited for a core (/proc/self/schedstat), ms. */
  runQueueMs?: number
  /** Relay only: store commits so far and their total time, seconds (the keypin_relay_store_commit_seconds histogram). */
  commits?: number
  commitSeconds?: number
  uncaught: number
  lastError?: string
}

const [target, dir] = process.argv.slice(2) as [ServerTarget | undefined, string | undefined]
let uncaught = 0
let lastError: string | undefined
const noteError = (error: unknown): void => {
  uncaught++
  lastError = String(error).slice(0, 200)
}
process.on('uncaughtException', noteError)
process.on('unhandledRejection', noteError)

let profiler: Session | undefined

async function main(): Promise<void> {
  if ((target !== 'relay' && target !== 'forwarder' && target !== 'udp') || !dir) throw new Error('usage: relay-server.js relay|forwarder|udp <dir>')
  let listener: KeypinListener | undefined
  let relay: RelayServer | undefined
  let forwarder: Forwarder | undefined
  let address: string
  if (target === 'udp') {
    // No Keypin listener at all: nothing of QUIC's may cost the UDP ceiling CPU.
    const udp = await startUdpForwarder(noteError)
    forwarder = udp
    address = udp.address
  } else {
    listener = await listen({ host: '127.0.0.1', port: 0, webrtc: false })
    address = listener.address
    if (target === 'relay') {
      // KEYPIN_BENCH_RELAY_MODULE: another build of @keypin/relay/server (a URL or path to its index.js), for A/B runs.
      const other = process.env['KEYPIN_BENCH_RELAY_MODULE']
      const startRelay = other ? ((await import(other)) as { startRelay: typeof packagedStartRelay }).startRelay : packagedStartRelay
      relay = startRelay({ listener, databasePath: join(dir, 'relay.db'), limits: RELAY_LIMITS })
    } else forwarder = startForwarder(listener)
  }

  serve({
    stats: async (): Promise<ServerStats> => {
      const cpu = process.cpuUsage()
      const commits = relay ? await commitTotals(relay) : undefined
      return {
        at: performance.now(),
        cpuUs: cpu.user + cpu.system,
        rss: process.memoryUsage.rss(),
        loopActiveMs: performance.eventLoopUtilization().active,
        ...(await runQueueMs()),
        ...commits,
        ...(relay ? { queued: relay.stats.messagesQueued, routed: relay.stats.messagesRouted } : {}),
        ...(forwarder ? { forwarded: forwarder.stats.forwarded, unroutable: forwarder.stats.unroutable } : {}),
        uncaught,
        ...(lastError ? { lastError } : {}),
      }
    },
    'profile-start': async () => {
      profiler = new Session()
      profiler.connect()
      await profiler.post('Profiler.enable')
      await profiler.post('Profiler.start')
    },
    'profile-stop': async (args: { file: string }) => {
      if (!profiler) return
      const { profile } = await profiler.post('Profiler.stop')
      profiler.disconnect()
      profiler = undefined
      await writeFile(args.file, JSON.stringify(profile))
    },
  })
  process.on('disconnect', () => {
    forwarder?.close()
    void (relay?.close() ?? Promise.resolve())
      .then(() => listener?.close())
      .finally(() => process.exit(0))
  })
  ready({ address })
}

async function runQueueMs(): Promise<{ runQueueMs: number } | undefined> {
  try {
    const waitedNs = Number((await readFile('/proc/self/schedstat', 'utf8')).split(' ')[1])
    return Number.isFinite(waitedNs) ? { runQueueMs: waitedNs / 1e6 } : undefined
  } catch {
    return undefined
  }
}

async function commitTotals(relay: RelayServer): Promise<{ commits: number; commitSeconds: number } | undefined> {
  const metric = await relay.metrics.getSingleMetric('keypin_relay_store_commit_seconds')?.get()
  const value = (name: string): number => metric?.values.find((v) => (v as { metricName?: string }).metricName === name)?.value ?? 0
  return metric ? { commits: value('keypin_relay_store_commit_seconds_count'), commitSeconds: value('keypin_relay_store_commit_seconds_sum') } : undefined
}

main().catch(fatal)
