/**
 * A relay bench load generator, run as a child process:
 * `node bench/dist/relay-generator.js <generator index>` (forked by relay-run.ts).
 *
 * Calls: `setup` (dial and, against the relay, log in this generator's
 * clients; against the UDP ceiling, bind and register them),
 * `create-room` / `join-room` (fan-out set-up, relay only), `start`,
 * `mark`, `stop`, `drain` (one row; relay-load.ts), `close`.
 * Exits when the parent disconnects.
 */
import { cpuUsage } from 'node:process'
import { relaySendPayloadBytes } from './relay-bodies.js'
import { ForwarderLoadClient, RelayLoadClient, type LoadClient } from './relay-clients.js'
import { fatal, ready, serve } from './relay-ipc.js'
import { Load, type Workload } from './relay-load.js'
import type { ServerTarget } from './relay-server.js'
import { UdpLoadClient } from './relay-udp-client.js'

export interface SetupArgs {
  target: ServerTarget
  address: string
  /** Clients in this generator, and the global index of its first (the forwarders' indexes). */
  count: number
  base: number
  bodies: string[]
}

export interface SetupResult {
  addresses: string[]
  seconds: number
  cpuUs: number
}

/** Dials at once per batch: the listener admits 64 handshakes per source IP, and two generators dial together. */
const DIAL_BATCH = 20

const gen = Number(process.argv[2])
const load = new Load(gen)
let clients: LoadClient[] = []

async function setup(args: SetupArgs): Promise<SetupResult> {
  const started = performance.now()
  const cpu = cpuUsage()
  const payloadBytes = relaySendPayloadBytes(args.bodies[0] as string)
  const connect = (local: number): Promise<LoadClient> => {
    switch (args.target) {
      case 'relay':
        return RelayLoadClient.connect(args.address, local, load, args.bodies)
      case 'forwarder':
        return ForwarderLoadClient.connect(args.address, local, args.base + local, load, payloadBytes)
      case 'udp':
        return UdpLoadClient.connect(args.address, local, args.base + local, load, payloadBytes)
    }
  }
  clients = []
  for (let i = 0; i < args.count; i += DIAL_BATCH) {
    const batch = Array.from({ length: Math.min(DIAL_BATCH, args.count - i) }, (_, k) => connect(i + k))
    clients.push(...(await Promise.all(batch)))
  }
  load.setClients(clients)
  const used = cpuUsage(cpu)
  return { addresses: clients.map((client) => client.address), seconds: (performance.now() - started) / 1000, cpuUs: used.user + used.system }
}

function relayClient(local: number): RelayLoadClient {
  const client = clients[local]
  if (!(client instanceof RelayLoadClient)) throw new Error(`no relay client ${local}`)
  return client
}

try {
  if (!Number.isInteger(gen) || gen < 0) throw new Error('usage: relay-generator.js <generator index>')
  serve({
    setup,
    'create-room': async (args: { ttlMs: number; maxMembers: number }) => {
      const reply = await relayClient(0).request({ t: 'room-create', ttlMs: args.ttlMs, maxMembers: args.maxMembers })
      return (reply['room'] as { id: string }).id
    },
    'join-room': async (args: { room: string; locals: number[] }) => {
      await Promise.all(args.locals.map((local) => relayClient(local).request({ t: 'room-join', room: args.room })))
    },
    start: (args: { row: number; workload: Workload }) => load.start(args.row, args.workload),
    mark: () => load.mark(),
    stop: () => load.stop(),
    drain: (args: { limitMs: number }) => load.drain(args.limitMs),
    close: async () => {
      await Promise.all(clients.map((client) => client.close()))
    },
  })
  process.on('disconnect', () => process.exit(0))
  ready({ gen })
} catch (error) {
  fatal(error)
}
