/**
 * The relay bench's markdown report: machine, setup, the issue's target,
 * one table each for the relay, the QUIC forwarder baseline and the raw-UDP
 * ceiling, the relay's figures against both, and the run's notes. Pure
 * formatting.
 */
import { machineSection, type MachineFacts } from './machine.js'
import type { Outcome } from './measure.js'
import {
  BACKLOG_MESSAGES,
  BODY_POOL,
  CLIENTS,
  CLOSED_WINDOW,
  DRAIN_MS,
  GENERATORS,
  MEASURE_MS,
  RELAY_LIMITS,
  ROOM_MEMBERS,
  ROOM_SENDERS,
  TARGET_P99_MS,
  TARGET_RATE,
  TEXT_BYTES,
  TICK_MS,
  UDP_SOCKET_BUFFER_BYTES,
  WARMUP_MS,
} from './relay-params.js'
import { ROWS, type RowResult, type RowSpec } from './relay-rows.js'
import type { ServerTarget } from './relay-server.js'

export interface TargetResults {
  setup?: Outcome<{ seconds: number; clients: number }>
  rows: Map<string, Outcome<RowResult>>
  /** Only some rows were asked for: the others are left out of the tables rather than shown as not run. */
  partial?: boolean
}

export interface RelayReportInput {
  runAt: Date
  machine: MachineFacts
  /** Size of one sealed message (decoded). */
  bodyBytes: number
  /** Size of one baseline message: a QUIC forwarder frame's payload, a whole UDP datagram. */
  messageBytes: number
  results: ReadonlyMap<ServerTarget, TargetResults>
  notes: readonly string[]
}

/** Above this share of the machine (server + generators, % of one core summed), the cores, not the server, set the pace. */
const BUSY_MACHINE_PERCENT = 180
/** Above this share of the window waiting for a core, the server's rate says more about the machine than about the server. */
const STARVED_PERCENT = 25

export function renderRelayReport(input: RelayReportInput): string {
  const relay = input.results.get('relay')
  const forwarder = input.results.get('forwarder')
  const udp = input.results.get('udp')
  return [
    '# Keypin relay bench: the relay against a trivial QUIC forwarder and raw UDP',
    '',
    `Run at ${input.runAt.toISOString()}.`,
    '',
    ...machineSection(input.machine),
    ...setupSection(input.bodyBytes, input.messageBytes, input.machine.cores),
    ...targetSection(relay, forwarder, udp),
    ...tableSection('Relay', `${CLIENTS} QUIC clients logged in to the relay`, 'dials and logins', relay),
    ...tableSection('Baseline: trivial forwarder', `the same ${CLIENTS} QUIC clients and frame sizes, no relay`, 'dials', forwarder),
    ...tableSection('Ceiling: raw UDP forwarder', `the same ${CLIENTS} clients on plain UDP sockets, one datagram per message of the same size, no QUIC`, 'sockets bound and registered', udp),
    ...ratioSection(relay, forwarder, udp),
    ...notesSection(input.notes),
    '',
  ].join('\n')
}

function setupSection(bodyBytes: number, messageBytes: number, cores: number): string[] {
  const perGenerator = CLIENTS / GENERATORS
  const limits = Object.entries(RELAY_LIMITS)
    .map(([name, value]) => `${name} ${typeof value === 'object' ? `${value.perSecond}/s burst ${value.burst}` : value}`)
    .join(', ')
  return [
    '## Setup',
    '',
    `- Loopback 127.0.0.1. The server runs in a forked child process: for the relay and the forwarder, \`listen()\` on port 0 (QUIC only) and either \`startRelay()\` (SQLite database file in a fresh temporary directory, WAL, \`synchronous: 'normal'\`, default logger writing JSON lines to stderr, metrics on) or the forwarder; for the UDP ceiling, no Keypin listener, only one \`node:dgram\` socket (below). Relay limits raised because every client shares one IP: ${limits}; the rest default (256 unacknowledged per connection, 1 MiB outbound queue).`,
    `- Load: ${CLIENTS} clients in ${GENERATORS} generator child processes (${perGenerator} each), one QUIC connection and one control stream per client (one UDP socket for the UDP ceiling). Against the relay each logs in with its own Ed25519 identity: a real login signature over the relay's nonce and a signed prekey.`,
    `- Messages: ${BODY_POOL} real sealed messages (${TEXT_BYTES}-byte plaintext, ${bodyBytes} bytes sealed, ${Math.ceil((bodyBytes * 4) / 3)} base64url characters) sealed once before the run and reused; the relay never opens them. Recipients acknowledge every message as the protocol requires and do not decrypt; senders read the \`stored\` replies and the receipts. Sealing and opening are the clients' cost and are left out.`,
    `- DM rows: sender and recipient are random clients of the same generator, so that both ends of a latency sample read one process's clock. Open loop: the offered rate is spread over the generators and sent on a ${TICK_MS} ms timer; a generator skips sends while more than ${BACKLOG_MESSAGES.toLocaleString('en-US')} of its messages are undelivered (shown as skipped), so an overloaded row holds a bounded backlog instead of spilling into the next. Closed loop: ${CLOSED_WINDOW} messages in flight per client (${CLOSED_WINDOW * CLIENTS} in all); each delivery lets its sender send the next.`,
    `- Fan-out rows: one room of ${ROOM_MEMBERS} members (${ROOM_MEMBERS / GENERATORS} per generator), ${ROOM_SENDERS} of them sending (${ROOM_SENDERS / GENERATORS} per generator) in turn. A room message is one \`room-send\` frame carrying one sealed copy per other member (${ROOM_MEMBERS - 1}), as the client SDK sends it; offered and delivered count deliveries (one per recipient). Latency is timed for recipients in the sender's generator (half of them); the other half are counted, not timed.`,
    `- Baseline (forwarder): the same clients send binary frames of the relay's \`send\` frame payload size, addressed by recipient index; the forwarder puts the sender's index in place of the recipient's and writes the frame to the recipient (frames queued during a write join the next write, as the relay's outbound queue does). No login, JSON, storage, replies, acknowledgements or receipts: two frames per message where the relay protocol has five (\`send\`, \`stored\` reply, \`message\`, \`ack\`, \`receipt\`). A fan-out message is ${ROOM_MEMBERS - 1} frames from the sender.`,
    `- Ceiling (raw UDP): the same clients, each with one \`node:dgram\` socket bound to 127.0.0.1 on port 0 and connected to the server child's one \`node:dgram\` socket (127.0.0.1, port 0); ${UDP_SOCKET_BUFFER_BYTES / 2 ** 20} MiB kernel send and receive buffers asked for on every socket, as Keypin's QUIC sockets ask. A client first sends a 4-byte hello carrying its index, repeated until the server echoes it. A message is one ${messageBytes}-byte datagram: the forwarder's frame payload (u32 recipient index, the message id, zero filler to the relay's \`send\` frame payload size) without the length prefix. The server names the sender by its source port, writes the sender's index over the recipient's in the received buffer and sends that to the recipient: one datagram in and one out per message. No QUIC, encryption, congestion control, acknowledgements or retransmission: a datagram the kernel drops is never delivered and counts as not arrived (in the closed loop its sender also stays one message short for the rest of the row). Each message is its own \`send()\`, at once: messages queued in one event-loop turn go out as separate datagrams, where the QUIC clients join them into one stream write. A fan-out message is ${ROOM_MEMBERS - 1} datagrams from the sender, one per recipient. This is the machine's ceiling for moving a message between two clients through one Node process.`,
    `- Each row: ${WARMUP_MS / 1000} s warm-up (offered, not counted), a ${MEASURE_MS / 1000} s window, then up to ${DRAIN_MS / 1000} s for the row's messages to arrive and, on the relay, for their acknowledgements to empty its queue (what is still queued after that is noted). delivered/s = deliveries received during the window ÷ window. p50/p99 = send → arrival of the message at the recipient's client, for messages sent during the window; one not arrived by the end of the drain counts as ∞.`,
    `- CPU: \`process.cpuUsage()\` (user + system) over the window, per delivered message, and as % of one core. Server = the server child (relay, forwarder or UDP forwarder); next to its CPU, the share of the window its event loop was busy (\`performance.eventLoopUtilization()\`; 100 % means it never waited for work) and the share its main thread was ready but waiting for a core (Linux \`/proc/self/schedstat\`: the other processes on the machine taking the CPU). Generators = both generator processes together per message; % of a core each. RSS: the server child at the end of the window.`,
    `- The machine has ${cores} cores for the server child, the generators and the bench parent (and anything else running). A row where server + generators use more than ${BUSY_MACHINE_PERCENT} % of a core in total is marked *machine busy*, one where the server waited for a core more than ${STARVED_PERCENT} % of the window *server starved of CPU*: there the cores, not the server, set the rate, and CPU per message is the steadier figure.`,
    '',
  ]
}

function targetSection(relay: TargetResults | undefined, forwarder: TargetResults | undefined, udp: TargetResults | undefined): string[] {
  const dmRows = (results: TargetResults | undefined): RowResult[] =>
    ROWS.filter((spec) => spec.section === 'dm')
      .map((spec) => results?.rows.get(spec.key))
      .filter((o): o is { ok: true; value: RowResult } => o?.ok === true)
      .map((o) => o.value)
  const rows = dmRows(relay)
  const within = rows.filter((r) => r.p99 < TARGET_P99_MS)
  const bestWithin = within.length > 0 ? Math.max(...within.map((r) => r.deliveredPerSecond)) : undefined
  const verdict = rows.length === 0 ? 'unknown (no DM row ran)' : bestWithin !== undefined && bestWithin >= TARGET_RATE ? 'met' : 'MISSED'
  const best = (list: RowResult[]): string => (list.length === 0 ? 'n/a' : `${int(Math.max(...list.map((r) => r.deliveredPerSecond)))}/s`)
  const udpWithin = dmRows(udp).filter((r) => r.p99 < TARGET_P99_MS)
  return [
    '## Target',
    '',
    `At least ${int(TARGET_RATE)} routed direct messages per second with p99 under ${TARGET_P99_MS} ms, ${CLIENTS} clients: **${verdict}**. Highest DM rate delivered with p99 < ${TARGET_P99_MS} ms: ${bestWithin === undefined ? 'none' : `${int(bestWithin)}/s`}. Highest DM rate delivered at any latency: relay ${best(rows)}, QUIC forwarder (the transport ceiling on this machine) ${best(dmRows(forwarder))}, raw UDP forwarder (the machine's ceiling for one Node process moving messages) ${best(dmRows(udp))}, of which ${udpWithin.length === 0 ? 'none' : best(udpWithin)} with p99 < ${TARGET_P99_MS} ms.`,
    '',
  ]
}

/** `connected`: what set-up did for each client (shown with the set-up time). */
function tableSection(title: string, what: string, connected: string, results: TargetResults | undefined): string[] {
  const lines = [`## ${title}`, '', `${what}.`, '']
  if (!results) return [...lines, 'Not run.', '']
  if (results.setup && !results.setup.ok) lines.push(`Set-up FAILED: ${results.setup.error}`, '')
  else if (results.setup?.ok) lines.push(`Set-up (children, ${results.setup.value.clients} ${connected}): ${fmt(results.setup.value.seconds)} s.`, '')
  lines.push(
    '| workload | offered/s | delivered/s | p50 (ms) | p99 (ms) | server CPU µs/msg | server CPU / loop busy / waiting for a core (%) | server RSS (MB) | generators CPU µs/msg | generators CPU (% of a core, each) | notes |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  )
  for (const spec of ROWS) if (results.rows.has(spec.key) || !results.partial) lines.push(row(spec, results.rows.get(spec.key)))
  lines.push('')
  return lines
}

function row(spec: RowSpec, outcome: Outcome<RowResult> | undefined): string {
  if (!outcome) return `| ${spec.label} | ${offeredCell(spec)} | not run | | | | | | | | |`
  if (!outcome.ok) return `| ${spec.label} | ${offeredCell(spec)} | FAILED: ${outcome.error.replace(/\|/g, '/')} | | | | | | | | |`
  const r = outcome.value
  return [
    '',
    spec.label,
    spec.offered === undefined ? `${int(r.offeredPerSecond)} (closed loop)` : int(r.offeredPerSecond),
    int(r.deliveredPerSecond),
    ms(r.p50),
    ms(r.p99),
    fmt(r.serverCpuUsPerMessage, 0),
    `${fmt(r.serverCpuPercent, 0)} / ${fmt(r.serverLoopPercent, 0)} / ${r.serverWaitPercent === undefined ? '—' : fmt(r.serverWaitPercent, 0)}`,
    fmt(r.serverRssMb, 0),
    fmt(r.generatorCpuUsPerMessage, 0),
    r.generatorCpuPercent.map((p) => fmt(p, 0)).join(' / '),
    rowNotes(r),
    '',
  ]
    .join(' | ')
    .trim()
}

function rowNotes(r: RowResult): string {
  const notes: string[] = []
  if (r.serverCpuPercent + r.generatorCpuPercent.reduce((a, b) => a + b, 0) > BUSY_MACHINE_PERCENT) notes.push('*machine busy*')
  if ((r.serverWaitPercent ?? 0) > STARVED_PERCENT) notes.push('*server starved of CPU*')
  if (r.commitsPerSecond !== undefined) notes.push(`${int(r.commitsPerSecond)} store commits/s, mean ${fmt(r.commitMeanMs ?? NaN, 2)} ms`)
  if (r.udpDatagramsPerMessage !== undefined) notes.push(`${fmt(r.udpDatagramsPerMessage)} UDP datagrams/msg`)
  if (r.udpDrops) notes.push(`${r.udpDrops} UDP receive-buffer drops`)
  if (r.skippedPerSecond > 0) notes.push(`${int(r.skippedPerSecond)}/s skipped (backlog)`)
  if (r.undelivered > 0) notes.push(`${r.undelivered} of ${r.timed + r.undelivered} timed messages not arrived after the drain`)
  if (r.errors > 0) notes.push(`${r.errors} errors: ${r.firstErrors.join('; ').replace(/\|/g, '/')}`)
  if (r.queuedAfter) notes.push(`${r.queuedAfter} still queued at the relay after the drain`)
  if (r.serverErrors) notes.push(r.serverErrors.replace(/\|/g, '/'))
  return notes.join('; ')
}

function ratioSection(relay: TargetResults | undefined, forwarder: TargetResults | undefined, udp: TargetResults | undefined): string[] {
  const lines = [
    '## Relay ÷ forwarder, relay ÷ UDP',
    '',
    'First each target\'s delivered/s and p99 in the same row, side by side. Then the relay\'s figures divided by the QUIC forwarder\'s and by the raw UDP forwarder\'s: delivered/s (1 = the relay reaches that baseline), p99, and server CPU per message (how many times the baseline\'s cost the relay spends per message). Last, the QUIC forwarder\'s delivered/s over the UDP forwarder\'s: the share of the machine\'s ceiling the QUIC transport reaches.',
    '',
    '| workload | delivered/s: relay / forwarder / UDP | p99 (ms): relay / forwarder / UDP | relay ÷ forwarder: delivered/s | relay ÷ forwarder: p99 | relay ÷ forwarder: server CPU µs/msg | relay ÷ UDP: delivered/s | relay ÷ UDP: p99 | relay ÷ UDP: server CPU µs/msg | forwarder ÷ UDP: delivered/s |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ]
  for (const spec of ROWS) {
    if (![relay, forwarder, udp].some((results) => results?.rows.has(spec.key))) continue
    const [r, f, u] = [relay, forwarder, udp].map((results) => value(results?.rows.get(spec.key)))
    const cells = [
      spec.label,
      [r, f, u].map((x) => (x ? int(x.deliveredPerSecond) : '—')).join(' / '),
      [r, f, u].map((x) => (x ? shortMs(x.p99) : '—')).join(' / '),
      ratio(r?.deliveredPerSecond, f?.deliveredPerSecond),
      ratio(r?.p99, f?.p99),
      ratio(r?.serverCpuUsPerMessage, f?.serverCpuUsPerMessage),
      ratio(r?.deliveredPerSecond, u?.deliveredPerSecond),
      ratio(r?.p99, u?.p99),
      ratio(r?.serverCpuUsPerMessage, u?.serverCpuUsPerMessage),
      ratio(f?.deliveredPerSecond, u?.deliveredPerSecond),
    ]
    lines.push(`| ${cells.join(' | ')} |`)
  }
  lines.push('')
  return lines
}

function notesSection(notes: readonly string[]): string[] {
  if (notes.length === 0) return []
  return ['## Notes from this run', '', ...notes.map((note) => `- ${note}`), '']
}

// ---- cells ----

const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : String(n))
const int = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : String(n))
const ms = (n: number): string => (n === Infinity ? '∞ (not all arrived)' : fmt(n, n < 10 ? 2 : 1))
const shortMs = (n: number): string => (n === Infinity ? '∞' : fmt(n, n < 10 ? 2 : 1))

function offeredCell(spec: RowSpec): string {
  return spec.offered === undefined ? 'closed loop' : int(spec.offered)
}

function value(outcome: Outcome<RowResult> | undefined): RowResult | undefined {
  return outcome?.ok ? outcome.value : undefined
}

function ratio(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b <= 0) return '—'
  return `${fmt(a / b, 2)}×`
}
