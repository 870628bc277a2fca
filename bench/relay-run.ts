/**
 * The relay bench: `node bench/dist/relay-run.js [all|relay|forwarder|udp] [row,row...]`
 * (every target and every row by default; row keys are in relay-rows.ts).
 *
 * For each target (the relay, then the trivial QUIC forwarder as the
 * transport baseline, then the raw-UDP forwarder as the machine's ceiling)
 * it forks a server child (relay-server.ts) and the load generators
 * (relay-generator.ts), connects the clients, and runs every row of
 * relay-rows.ts under a hard time limit; a failed row is reported in its
 * cells and the run moves on. The markdown report is printed and written to
 * bench/results/relay.md.
 *
 * KEYPIN_BENCH_PROFILE_DIR=<dir> writes a CPU profile of the server child
 * per row (the measured window only) to that directory; profiling slows the
 * server, so such a run's numbers are not for the report.
 * KEYPIN_BENCH_RELAY_MODULE=<file URL of a server/index.js> runs the relay
 * from another build of @keypin/relay (before/after comparisons); the report
 * says so.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { errorText } from './common.js'
import { machineFacts } from './machine.js'
import type { Outcome } from './measure.js'
import { relaySendPayloadBytes, sealedBodies } from './relay-bodies.js'
import type { SetupResult } from './relay-generator.js'
import { Child } from './relay-ipc.js'
import { BODY_POOL, CLIENTS, GENERATORS, ROOM_MEMBERS, ROOM_SENDERS, ROW_LIMIT_MS, RUN_LIMIT_MS, SETUP_LIMIT_MS, TEXT_BYTES } from './relay-params.js'
import { renderRelayReport, type TargetResults } from './relay-report.js'
import { ROWS, runRow, type RoomPlan } from './relay-rows.js'
import type { ServerTarget } from './relay-server.js'
import { withTimeout } from './timing.js'

const TARGETS: readonly ServerTarget[] = ['relay', 'forwarder', 'udp']
const chosen = process.argv[2] === 'all' ? undefined : (process.argv[2] as ServerTarget | undefined)
/** Row keys to run (all when not given). */
const only = process.argv[3]?.split(',')
if ((chosen !== undefined && !TARGETS.includes(chosen)) || only?.some((key) => !ROWS.some((spec) => spec.key === key))) {
  process.stderr.write(`usage: node bench/dist/relay-run.js [all|relay|forwarder|udp] [row,row...]\nrows: ${ROWS.map((spec) => spec.key).join(', ')}\n`)
  process.exit(2)
}
const profileDir = process.env['KEYPIN_BENCH_PROFILE_DIR']
const started = new Date()
const notes: string[] = []
const results = new Map<ServerTarget, TargetResults>()
const bodies = sealedBodies(BODY_POOL, TEXT_BYTES)
const live = new Set<Child>()

function log(text: string): void {
  process.stderr.write(text)
}

async function finish(code: number): Promise<never> {
  for (const child of live) child.kill()
  const markdown = renderRelayReport({
    runAt: started,
    machine: machineFacts(),
    bodyBytes: Math.floor((bodies[0]!.length * 3) / 4),
    messageBytes: relaySendPayloadBytes(bodies[0]!),
    results,
    notes,
  })
  const dir = new URL('../results/', import.meta.url)
  await mkdir(dir, { recursive: true })
  await writeFile(new URL('relay.md', dir), markdown)
  process.stdout.write(`${markdown}\n`)
  log('Written to bench/results/relay.md\n')
  process.exit(code)
}

process.on('uncaughtException', (error) => notes.push(`uncaught exception in the bench parent: ${errorText(error)}`))
process.on('unhandledRejection', (error) => notes.push(`unhandled rejection in the bench parent: ${errorText(error)}`))
setTimeout(() => {
  notes.push(`the run hit its ${RUN_LIMIT_MS / 1000} s limit; later rows did not run`)
  void finish(1)
}, RUN_LIMIT_MS).unref()

async function start<T>(name: string, script: string, args: string[]): Promise<{ child: Child; ready: T }> {
  const started = await Child.start<T>(name, new URL(script, import.meta.url), args)
  live.add(started.child)
  return started
}

async function stopAll(children: Child[]): Promise<void> {
  await Promise.all(children.map((child) => child.call('close', null, 5_000).catch(() => {})))
  await Promise.all(children.map((child) => child.stop().finally(() => live.delete(child))))
}

/** Creates the room (first generator's first client) and has the first ROOM_MEMBERS / GENERATORS clients of each generator join. */
async function setUpRoom(target: ServerTarget, generators: Child[], addresses: string[][]): Promise<RoomPlan> {
  const perGenerator = ROOM_MEMBERS / GENERATORS
  const locals = Array.from({ length: perGenerator }, (_, i) => i)
  const room = target === 'relay' ? await generators[0]!.call<string>('create-room', { ttlMs: 3_600_000, maxMembers: ROOM_MEMBERS }, 20_000) : ''
  if (target === 'relay') {
    await Promise.all(generators.map((gen, g) => gen.call('join-room', { room, locals: g === 0 ? locals.slice(1) : locals }, 30_000)))
  }
  return {
    room,
    members: addresses.flatMap((list) => list.slice(0, perGenerator)),
    senders: generators.map(() => locals.slice(0, ROOM_SENDERS / GENERATORS)),
  }
}

async function runTarget(target: ServerTarget): Promise<void> {
  const outcome: TargetResults = { rows: new Map(), partial: only !== undefined }
  results.set(target, outcome)
  const dir = await mkdtemp(join(tmpdir(), 'keypin-relay-bench-'))
  const children: Child[] = []
  try {
    log(`${target}: starting the server child and ${GENERATORS} generators, ${CLIENTS} clients ... `)
    const setupStarted = performance.now()
    const setup = withTimeout(
      (async () => {
        const { child: server, ready } = await start<{ address: string }>(`${target} server`, './relay-server.js', [target, dir])
        children.push(server)
        const generators = await Promise.all(
          Array.from({ length: GENERATORS }, (_, g) => start(`generator ${g}`, './relay-generator.js', [String(g)]).then((started) => started.child)),
        )
        children.push(...generators)
        const { address } = ready
        const perGenerator = CLIENTS / GENERATORS
        const setups = await Promise.all(
          generators.map((gen, g) => gen.call<SetupResult>('setup', { target, address, count: perGenerator, base: g * perGenerator, bodies }, SETUP_LIMIT_MS)),
        )
        return { server, generators, setups }
      })(),
      SETUP_LIMIT_MS,
      `${target} set-up`,
    )
    const { server, generators, setups } = await setup
    outcome.setup = { ok: true, value: { seconds: (performance.now() - setupStarted) / 1000, clients: setups.reduce((n, s) => n + s.addresses.length, 0) } }
    log(`done (${outcome.setup.value.seconds.toFixed(1)} s)\n`)
    const addresses = setups.map((s) => s.addresses)
    let room: RoomPlan | undefined
    for (const [index, spec] of ROWS.entries()) {
      if (only && !only.includes(spec.key)) continue
      if (spec.section === 'fanout' && !room) {
        try {
          room = await setUpRoom(target, generators, addresses)
        } catch (error) {
          notes.push(`${target}: the fan-out room could not be set up: ${errorText(error)}`)
          break
        }
      }
      log(`${target}: ${spec.label} ... `)
      const rowStarted = performance.now()
      const profileFile = profileDir ? join(profileDir, `${target}-${spec.key}.cpuprofile`) : undefined
      let result: Outcome<Awaited<ReturnType<typeof runRow>>>
      try {
        result = { ok: true, value: await withTimeout(runRow(spec, index, { server, generators, room, profileFile }), ROW_LIMIT_MS, spec.label) }
      } catch (error) {
        result = { ok: false, error: errorText(error) }
        await Promise.all(generators.map((gen) => gen.call('stop').catch(() => {})))
      }
      outcome.rows.set(spec.key, result)
      const seconds = ((performance.now() - rowStarted) / 1000).toFixed(1)
      log(result.ok ? `${Math.round(result.value.deliveredPerSecond)} delivered/s, p99 ${result.value.p99.toFixed(1)} ms (${seconds} s)\n` : `FAILED (${seconds} s): ${result.error}\n`)
    }
  } catch (error) {
    outcome.setup = { ok: false, error: errorText(error) }
    log(`FAILED: ${errorText(error)}\n`)
  } finally {
    await stopAll(children)
    await rm(dir, { recursive: true, force: true })
  }
}

async function main(): Promise<void> {
  log(`Keypin relay bench (server and ${GENERATORS} load generators in child processes; progress on stderr, table on stdout)\n`)
  if (process.env['KEYPIN_BENCH_RELAY_MODULE']) notes.push('the relay was loaded from another build of @keypin/relay/server (KEYPIN_BENCH_RELAY_MODULE)')
  if (profileDir) {
    await mkdir(profileDir, { recursive: true })
    notes.push('the server child was CPU-profiled during each window (slower than an unprofiled run)')
  }
  for (const target of chosen ? [chosen] : TARGETS) await runTarget(target)
  await finish(0)
}

void main().catch((error: unknown) => {
  notes.push(`bench aborted: ${errorText(error)}`)
  void finish(1)
})
