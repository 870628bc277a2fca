/**
 * The markdown report: title, machine, setup text, the results table (one
 * column per implementation, a ratio and a target column) and the notes from
 * the run. Pure formatting; run.ts collects the inputs and writes the output.
 */
import { CHROMIUM_PLAN, KEYPIN_QUIC, KEYPIN_WEBRTC, MATRIXAI_QUIC, NDC_DIRECT } from './impls.js'
import type { MachineFacts } from './machine.js'
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
  /** Keypin over WebRTC (Node) and the raw node-datachannel baseline. */
  webrtc: Results
  direct: Results
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
    ...webRtcSection(input.webrtc, input.direct, input.chromiumLatency),
    ...notesSection(input.notes),
    '',
  ].join('\n')
}

function machineSection(machine: MachineFacts): string[] {
  return [
    '## Machine',
    '',
    `- CPU: ${machine.cpuModel}, ${machine.cores} cores`,
    `- Memory: ${fmt(machine.memoryBytes / 2 ** 30)} GiB total`,
    `- Node ${machine.nodeVersion}, ${machine.system}`,
    '',
  ]
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

function webRtcSection(k: Results, d: Results, chromium: Outcome<Latency> | undefined): string[] {
  const w = KEYPIN_WEBRTC.plan
  const n = NDC_DIRECT.plan
  const kSingle = value(k.single, (t) => t.mbps)
  const dSingle = value(d.single, (t) => t.mbps)
  const kMulti = value(k.multi, (t) => t.mbps)
  const dMulti = value(d.multi, (t) => t.mbps)
  const kP50 = value(k.latency, (l) => l.p50)
  const chromiumP50 = value(chromium, (l) => l.p50)
  const serverCpu = (t: Throughput): string => fmt(t.serverCpuPerGb, 2)
  const atLeast70 = (a: number | undefined, b: number | undefined): string =>
    `≥ 70 % of direct: ${metMissed(a === undefined || b === undefined || b <= 0 ? undefined : a / b >= 0.7)}`
  return [
    '',
    '## WebRTC',
    '',
    `- Keypin WebRTC (Node): \`dial()\` from @keypin/webrtc-client (node-datachannel's W3C polyfill) to the same Keypin listener child as above (\`listen()\` serves WebRTC on its one UDP port). Payload ${w.bytes / MB} MB, write cap ${w.writeCapMs / 1000} s; ${w.dials} dials after ${w.warmup} warm-ups within ${w.dialBudgetMs / 1000} s; no memory run.`,
    `- node-datachannel direct: two raw node-datachannel \`PeerConnection\`s bound to 127.0.0.1 (client in the parent, one per dial in the server child), SDP and candidates relayed over the fork IPC channel; no Keypin, no relay. A stream is a data channel: ${NDC_MESSAGE_NOTE}, bufferedAmount kept under 1 MiB; a 'fin' text message ends it and the child replies with the count (or echoes the 1-byte ping). Datagrams: an unordered, maxRetransmits 0 channel. Payload ${n.bytes / MB} MB, write cap ${n.writeCapMs / 1000} s; ${n.dials} dials after ${n.warmup} warm-ups.`,
    '- Dial latency here is create PeerConnection + signal + ICE/DTLS/SCTP + open a channel (stream) + 1-byte echo.',
    `- Chromium: the same dial + 1-byte echo loop runs inside a headless Debian Chromium page importing the browser bundle (libs/webrtc-client/dist/browser.js), default (auto) handshake; ${CHROMIUM_PLAN.dials} dials after ${CHROMIUM_PLAN.warmup} warm-ups within ${CHROMIUM_PLAN.dialBudgetMs / 1000} s. There is no direct baseline for it.`,
    '',
    '| metric | Keypin WebRTC (Node) | node-datachannel direct | ratio (Keypin/direct) | target |',
    '|---|---|---|---|---|',
    `| single-stream throughput (MB/s) | ${cell(k.single, throughputCell)} | ${cell(d.single, throughputCell)} | ${percent(kSingle, dSingle)} | ${atLeast70(kSingle, dSingle)} |`,
    `| ${STREAMS}-stream throughput (MB/s, one connection) | ${cell(k.multi, throughputCell)} | ${cell(d.multi, throughputCell)} | ${percent(kMulti, dMulti)} | ${atLeast70(kMulti, dMulti)} |`,
    `| dial → first byte p50 (ms) | ${cell(k.latency, latencyCell('p50'))} | ${cell(d.latency, latencyCell('p50'))} | ${plain(kP50, value(d.latency, (l) => l.p50))} | < 100 ms: ${metMissed(kP50 === undefined ? undefined : kP50 < 100)} |`,
    `| dial → first byte p99 (ms) | ${cell(k.latency, latencyCell('p99'))} | ${cell(d.latency, latencyCell('p99'))} | ${plain(value(k.latency, (l) => l.p99), value(d.latency, (l) => l.p99))} | |`,
    `| Chromium dial → first byte p50 (ms) | ${cell(chromium, latencyCell('p50'))} | — | — | < 100 ms: ${metMissed(chromiumP50 === undefined ? undefined : chromiumP50 < 100)} |`,
    `| Chromium dial → first byte p99 (ms) | ${cell(chromium, latencyCell('p99'))} | — | — | |`,
    `| datagrams received/s (${DATAGRAM_SIZE} B) | ${cell(k.datagrams, datagramRateCell)} | ${cell(d.datagrams, datagramRateCell)} | ${percent(datagramRate(k.datagrams), datagramRate(d.datagrams))} | |`,
    `| datagram delivery ratio | ${cell(k.datagrams, datagramDeliveryCell)} | ${cell(d.datagrams, datagramDeliveryCell)} | — | |`,
    `| server CPU s per GB, single stream | ${cell(k.single, serverCpu)} | ${cell(d.single, serverCpu)} | ${plain(value(k.single, (t) => t.serverCpuPerGb), value(d.single, (t) => t.serverCpuPerGb))} | |`,
  ]
}

const NDC_MESSAGE_NOTE = 'writes sent as 16384-byte binary messages (Keypin\'s stream frame size)'

/** Keypin as a percentage of the direct baseline (rates). */
function percent(keypin: number | undefined, direct: number | undefined): string {
  if (keypin === undefined || direct === undefined || direct <= 0) return '—'
  return `${fmt((keypin / direct) * 100)} %`
}

/** Keypin/direct as a plain factor (latency, CPU: <1 means Keypin is lower). */
function plain(keypin: number | undefined, direct: number | undefined): string {
  if (keypin === undefined || direct === undefined || direct <= 0) return '—'
  return `${fmt(keypin / direct, 2)}×`
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
