/**
 * The markdown report: title, machine, setup text, the results table (one
 * column per implementation, a ratio and a target column), the WebRTC table
 * (three implementations, three ratios) and the notes from the run. Pure formatting; run.ts collects the inputs and writes the output.
 */
import { CHROMIUM_PLAN, KEYPIN_QUIC, KEYPIN_WEBRTC, MATRIXAI_QUIC, NDC_DIRECT, NDC_RELAYED } from './impls.js'
import { machineSection, type MachineFacts } from './machine.js'
import type { Outcome } from './measure.js'
import type { Datagrams } from './measure-datagrams.js'
import type { Latency } from './measure-latency.js'
import type { Memory } from './measure-memory.js'
import type { Throughput } from './measure-throughput.js'
import { CHUNK, DATAGRAM_BATCH, DATAGRAM_MS, DATAGRAM_SIZE, MB, MEMORY_CONNECTIONS, STREAMS, THROUGHPUT_REPS } from './params.js'

/** One implementation's outcomes; a missing one did not run (bench time limit). */
export interface Results {
  single?: Outcome<Throughput>
  multi?: Outcome<Throughput>
  latency?: Outcome<Latency>
  datagrams?: Outcome<Datagrams | 'n/a'>
  memory?: Outcome<Memory>
}

export interface ReportInput {
  runAt: Date
  machine: MachineFacts
  keypin: Results
  baseline: Results
  /** Keypin over WebRTC (Node) and the raw node-datachannel baselines, direct and through a bare JS relay hop. */
  webrtc: Results
  direct: Results
  relayed: Results
  /** Dial latency from a Chromium page (browser bundle) to the Keypin listener. */
  chromiumLatency: Outcome<Latency> | undefined
  notes: readonly string[]
}

export function renderReport(input: ReportInput): string {
  return [
    '# Keypin bench: Keypin vs @matrixai/quic 2.0.9',
    '',
    `Run at ${input.runAt.toISOString()}.`,
    '',
    ...machineSection(input.machine),
    ...setupSection(),
    ...resultsSection(input.keypin, input.baseline),
    ...webRtcSection(input.webrtc, input.relayed, input.direct, input.chromiumLatency),
    ...notesSection(input.notes),
    '',
  ].join('\n')
}

function setupSection(): string[] {
  const k = KEYPIN_QUIC.plan
  const m = MATRIXAI_QUIC.plan
  return [
    '## Setup',
    '',
    '- Loopback 127.0.0.1. The server runs in a forked child process (fresh child per measurement); the client runs in the parent.',
    '- Server: reads every inbound stream to EOF, answers with the 8-byte byte count (a 1-byte stream gets its byte echoed), closes; counts inbound datagrams.',
    '- Both implementations use their default flow-control windows and congestion control. Baseline: `verifyPeer: false`, ALPN `keypin-bench`, key/cert from `generateIdentity()`, Retry-token crypto HMAC-SHA256, logger silenced.',
    `- MB = 10^6 bytes. Stream writes are ${CHUNK / 1024} KiB chunks; the client keeps one chunk queued ahead (\`await writer.ready\`).`,
    `- Throughput payload: Keypin ${k.bytes / MB} MB, baseline ${m.bytes / MB} MB (its JS layer is slow; a rate is a rate); writing stops after ${k.writeCapMs / 1000} s if the payload is not done. The 8-stream run splits the same total over ${STREAMS} concurrent streams on one connection. Time runs from the first write to the last count reply (connection set-up excluded).`,
    `- Dial latency: fresh dial + open stream + write 1 byte and FIN + first byte of the echo; the connection is then closed (not timed). Keypin ${k.dials} iterations, baseline ${m.dials}, after ${k.warmup}/${m.warmup} uncounted warm-up dials; with few samples p99 is close to the maximum.`,
    `- Datagrams: ${DATAGRAM_SIZE}-byte payloads for ${DATAGRAM_MS / 1000} s, ${DATAGRAM_BATCH} sends per event-loop turn (\`setImmediate\` between batches); received/s = datagrams the server application read ÷ send time; delivery = received ÷ send() calls. Loss is split where visible: Keypin's server-side application queue (its non-public \`dropped\` counter) and the kernel's UDP receive-buffer overflows (Linux \`/proc/net/snmp\` RcvbufErrors, machine-wide).`,
    `- Throughput and CPU: ${THROUGHPUT_REPS} runs per cell, each on a fresh connection to the same server child; the cell shows the median run. CPU is \`process.cpuUsage()\` (user+sys) of the client process and of the server child, summed over the ${THROUGHPUT_REPS} single-stream runs, per GB of payload.`,
    `- Memory: server child RSS after \`gc()\`, before and after ${MEMORY_CONNECTIONS} concurrent connections each holding one open stream (1 byte sent, write half open).`,
    '',
  ]
}

function resultsSection(keypin: Results, baseline: Results): string[] {
  return [
    '## Results',
    '',
    'Ratio: >1 means Keypin is better (Keypin/baseline for rates; baseline/Keypin for latency, CPU and memory).',
    '',
    '| metric | Keypin | @matrixai/quic | ratio (>1 = Keypin better) | target |',
    '|---|---|---|---|---|',
    ...comparisonRows(keypin, baseline),
  ]
}

/** The table rows for Keypin (`k`) against a baseline (`m`); ratios >1 favour Keypin. */
function comparisonRows(k: Results, m: Results): string[] {
  const rows: string[] = []
  const kSingle = value(k.single, (t) => t.mbps)
  const mSingle = value(m.single, (t) => t.mbps)
  const singleRatio = kSingle !== undefined && mSingle !== undefined ? kSingle / mSingle : undefined
  rows.push(
    `| single-stream throughput (MB/s) | ${cell(k.single, throughputCell)} | ${cell(m.single, throughputCell)} | ${ratio(kSingle, mSingle, true)} | ≥ 40 MB/s: ${metMissed(kSingle === undefined ? undefined : kSingle >= 40)}; ≥ 25× baseline: ${metMissed(singleRatio === undefined ? undefined : singleRatio >= 25)} |`,
  )
  rows.push(
    `| ${STREAMS}-stream throughput (MB/s, one connection) | ${cell(k.multi, throughputCell)} | ${cell(m.multi, throughputCell)} | ${ratio(value(k.multi, (t) => t.mbps), value(m.multi, (t) => t.mbps), true)} | |`,
  )
  const kP50 = value(k.latency, (l) => l.p50)
  rows.push(
    `| dial → first byte p50 (ms) | ${cell(k.latency, latencyCell('p50'))} | ${cell(m.latency, latencyCell('p50'))} | ${ratio(kP50, value(m.latency, (l) => l.p50), false)} | < 5 ms: ${metMissed(kP50 === undefined ? undefined : kP50 < 5)} |`,
  )
  rows.push(
    `| dial → first byte p99 (ms) | ${cell(k.latency, latencyCell('p99'))} | ${cell(m.latency, latencyCell('p99'))} | ${ratio(value(k.latency, (l) => l.p99), value(m.latency, (l) => l.p99), false)} | |`,
  )
  rows.push(
    `| datagrams received/s (${DATAGRAM_SIZE} B) | ${cell(k.datagrams, datagramRateCell)} | ${cell(m.datagrams, datagramRateCell)} | ${ratio(datagramRate(k.datagrams), datagramRate(m.datagrams), true)} | |`,
  )
  rows.push(`| datagram delivery ratio | ${cell(k.datagrams, datagramDeliveryCell)} | ${cell(m.datagrams, datagramDeliveryCell)} | — | |`)
  for (const which of ['client', 'server', 'total'] as const) {
    const show = (t: Throughput): string => fmt(cpuPerGb(t, which), 2)
    rows.push(
      `| CPU s per GB, single stream (${which}) | ${cell(k.single, show)} | ${cell(m.single, show)} | ${ratio(value(k.single, (t) => cpuPerGb(t, which)), value(m.single, (t) => cpuPerGb(t, which)), false)} | |`,
    )
  }
  rows.push(
    `| server RSS per connection with 1 open stream (MB) | ${cell(k.memory, memoryCell)} | ${cell(m.memory, memoryCell)} | ${ratio(value(k.memory, (x) => x.perConnection), value(m.memory, (x) => x.perConnection), false)} | |`,
  )
  return rows
}

function webRtcSection(k: Results, r: Results, d: Results, chromium: Outcome<Latency> | undefined): string[] {
  const w = KEYPIN_WEBRTC.plan
  const n = NDC_DIRECT.plan
  const rp = NDC_RELAYED.plan
  const kP50 = value(k.latency, (l) => l.p50)
  const chromiumP50 = value(chromium, (l) => l.p50)
  const serverCpu = (t: Throughput): string => fmt(t.serverCpuPerGb, 2)
  const atLeast70 = (a: number | undefined, b: number | undefined): string =>
    `≥ 70 % of direct: ${metMissed(a === undefined || b === undefined || b <= 0 ? undefined : a / b >= 0.7)}`
  /** One row: the three cells, then Keypin/direct, relayed/direct, Keypin/relayed as `compare` shows them, then the target. */
  const row = <T>(
    metric: string,
    pick: (x: Results) => Outcome<T> | undefined,
    show: (v: T) => string,
    num: ((v: T) => number | undefined) | undefined,
    compare: (a: number | undefined, b: number | undefined) => string,
    target = '',
  ): string => {
    const of = (x: Results): number | undefined => (num ? value(pick(x), num) : undefined)
    const ratios = num ? [compare(of(k), of(d)), compare(of(r), of(d)), compare(of(k), of(r))] : ['—', '—', '—']
    return `| ${metric} | ${cell(pick(k), show)} | ${cell(pick(r), show)} | ${cell(pick(d), show)} | ${ratios.join(' | ')} | ${target} |`
  }
  const mbps = (t: Throughput): number => t.mbps
  const single = (x: Results): Outcome<Throughput> | undefined => x.single
  const multi = (x: Results): Outcome<Throughput> | undefined => x.multi
  return [
    '',
    '## WebRTC',
    '',
    `- Keypin WebRTC (Node): \`dial()\` from @keypin/webrtc-client (node-datachannel's W3C polyfill) to the same Keypin listener child as above (\`listen()\` serves WebRTC on its one UDP port; every WebRTC datagram is relayed in JavaScript between its public socket and node-datachannel's ICE mux through a per-peer loopback socket). Payload ${w.bytes / MB} MB, write cap ${w.writeCapMs / 1000} s; ${w.dials} dials after ${w.warmup} warm-ups within ${w.dialBudgetMs / 1000} s; no memory run.`,
    `- node-datachannel direct: two raw node-datachannel \`PeerConnection\`s bound to 127.0.0.1 (client in the parent, one per dial in the server child), SDP and candidates relayed over the fork IPC channel (the child sends its candidates after its description); no Keypin, no relay. A stream is a data channel: ${NDC_MESSAGE_NOTE}, bufferedAmount kept under 1 MiB; a 'fin' text message ends it and the child replies with the count (or echoes the 1-byte ping). Datagrams: an unordered, maxRetransmits 0 channel. Payload ${n.bytes / MB} MB, write cap ${n.writeCapMs / 1000} s; ${n.dials} dials after ${n.warmup} warm-ups.`,
    `- node-datachannel relayed: the direct pair, same client code and plan (payload ${rp.bytes / MB} MB, ${rp.dials} dials), with a bare JavaScript UDP relay hop in the server child, shaped like Keypin's WebRTC path and using none of its code. The child owns a "public" node:dgram socket on 127.0.0.1 (4 MiB kernel buffers requested, as Keypin's listener does). Each local candidate of the child's PeerConnection reaches the client rewritten to the public socket's address; the child keeps the real port. The client's candidates never reach the child: its offer goes to the child's PeerConnection with its candidate lines replaced by one host candidate, a loopback relay socket the hop bound in advance (as Keypin names its relay socket in the offer it writes). The first client source address whose ICE check names that PeerConnection's ufrag (STUN USERNAME) is attached to that relay socket, which is connected to the PeerConnection's ICE port: each datagram from the client is sent on from it at once (one send per datagram, no batching), and what the PeerConnection sends to it goes back to the client from the public socket. Both sides' ICE checks cross the hop. Every dial checks that the client's selected remote is the public socket, the child that its selected remote is a relay socket; the last row counts the datagrams that crossed the hop. Like Keypin, each server-side packet crosses loopback twice.`,
    '- Dial latency here is create PeerConnection + signal + ICE/DTLS/SCTP + open a channel (stream) + 1-byte echo.',
    `- Chromium: the same dial + 1-byte echo loop runs inside a headless Debian Chromium page importing the browser bundle (libs/webrtc-client/dist/browser.js), default (auto) handshake; ${CHROMIUM_PLAN.dials} dials after ${CHROMIUM_PLAN.warmup} warm-ups within ${CHROMIUM_PLAN.dialBudgetMs / 1000} s. There is no direct baseline for it.`,
    '- Ratios: rates as percentages, latency and CPU as plain factors (<1 = lower). relayed/direct is what the JS relay hop alone costs: the ceiling for any design that relays in JavaScript this way; Keypin/relayed is how much of that ceiling Keypin reaches. The 70 % target is Keypin/direct.',
    '',
    '| metric | Keypin WebRTC (Node) | node-datachannel relayed | node-datachannel direct | Keypin/direct | relayed/direct | Keypin/relayed | target |',
    '|---|---|---|---|---|---|---|---|',
    row('single-stream throughput (MB/s)', single, throughputCell, mbps, percent, atLeast70(value(k.single, mbps), value(d.single, mbps))),
    row(`${STREAMS}-stream throughput (MB/s, one connection)`, multi, throughputCell, mbps, percent, atLeast70(value(k.multi, mbps), value(d.multi, mbps))),
    row('dial → first byte p50 (ms)', (x) => x.latency, latencyCell('p50'), (l) => l.p50, plain, `< 100 ms: ${metMissed(kP50 === undefined ? undefined : kP50 < 100)}`),
    row('dial → first byte p99 (ms)', (x) => x.latency, latencyCell('p99'), (l) => l.p99, plain),
    `| Chromium dial → first byte p50 (ms) | ${cell(chromium, latencyCell('p50'))} | — | — | — | — | — | < 100 ms: ${metMissed(chromiumP50 === undefined ? undefined : chromiumP50 < 100)} |`,
    `| Chromium dial → first byte p99 (ms) | ${cell(chromium, latencyCell('p99'))} | — | — | — | — | — | |`,
    row(`datagrams received/s (${DATAGRAM_SIZE} B)`, (x) => x.datagrams, datagramRateCell, (g) => (g === 'n/a' ? undefined : g.perSecond), percent),
    row('datagram delivery ratio', (x) => x.datagrams, datagramDeliveryCell, undefined, percent),
    row('server CPU s per GB, single stream', single, serverCpu, (t) => t.serverCpuPerGb, plain),
    `| datagrams through the server child's JS relay hop, single-stream runs | — (Keypin's listener does not count them) | ${cell(r.single, hopCell)} | none (no hop) | — | — | — | |`,
  ]
}

const NDC_MESSAGE_NOTE = 'writes sent as 16384-byte binary messages (Keypin\'s stream frame size)'

/** The relay hop's counters over a measurement's runs, per MB of the runs' payload. */
function hopCell(t: Throughput): string {
  const hop = t.hop
  if (!hop) return 'not reported'
  const mb = t.runs.reduce((sum, run) => sum + run.bytes, 0) / MB
  const perMb = (count: number): string => fmt(mb > 0 ? count / mb : NaN)
  return (
    `${hop.toPeer} client → PeerConnection (${perMb(hop.toPeer)} per MB), ${hop.toClient} back (${perMb(hop.toClient)} per MB), ${fmt(mb)} MB in ${t.runs.length} runs; ` +
    `${hop.sockets} relay sockets; ${hop.viaHop} of ${hop.viaHop + hop.bypassed} connections selected a relay socket${hop.unrouted ? `; ${hop.unrouted} unrouted datagrams dropped (a client's last packets, after the child closed that connection)` : ''}`
  )
}

/** `a` as a percentage of `b` (rates). */
function percent(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || b <= 0) return '—'
  return `${fmt((a / b) * 100)} %`
}

/** a/b as a plain factor (latency, CPU: <1 means `a` is lower). */
function plain(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || b <= 0) return '—'
  return `${fmt(a / b, 2)}×`
}

function notesSection(notes: readonly string[]): string[] {
  if (notes.length === 0) return []
  return ['', '## Notes from this run', '', ...notes.map((note) => `- ${note}`)]
}

// ---- cells ----

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

const latencyCell =
  (pick: 'p50' | 'p99') =>
  (l: Latency): string =>
    `${fmt(l[pick], 2)} (n=${l.count}${l.failures ? `, ${l.failures} failed` : ''})`

function datagramRateCell(d: Datagrams | 'n/a'): string {
  return d === 'n/a'
    ? 'n/a (no datagram API)'
    : `${Math.round(d.perSecond)} (${d.received} of ${d.sent} sent${d.appDropped >= 0 ? `; ${d.appDropped} dropped by the server's app queue` : ''}${d.kernelDropped >= 0 ? `; ${d.kernelDropped} kernel UDP rcvbuf drops` : ''}${d.sendErrors ? `; ${d.sendErrors} send() rejected` : ''})`
}

function datagramDeliveryCell(d: Datagrams | 'n/a'): string {
  return d === 'n/a' ? 'n/a (no datagram API)' : `${fmt(d.ratio * 100)} %`
}

function datagramRate(outcome: Outcome<Datagrams | 'n/a'> | undefined): number | undefined {
  return value(outcome, (d) => (d === 'n/a' ? undefined : d.perSecond))
}

function memoryCell(mem: Memory): string {
  return `${fmt(mem.perConnection, 3)} (RSS ${fmt(mem.before / MB)} → ${fmt(mem.after / MB)} MB)`
}
