/**
 * What one load generator offers in a row, and what it measures.
 *
 * A row goes start (warm-up: offered, not counted) → mark (the measured
 * window opens) → stop (no more sends; window counts returned) → drain
 * (wait for the window's messages to arrive; latencies returned).
 *
 * Workloads: direct messages at an offered rate between random pairs of
 * this generator's clients (open loop), direct messages with a fixed
 * number in flight per client (closed loop: each delivery lets its sender
 * send again), and room messages from a few senders to every other member
 * of one room (fan-out; members may live in other generators).
 *
 * Latency is send → delivery, both read from this process's clock: the
 * message id carries the row, the generator and the send time, so only
 * deliveries of this generator's own messages are timed. Deliveries of
 * other generators' messages (fan-out) are counted, not timed.
 */
import { cpuUsage } from 'node:process'
import type { ClientEvents, LoadClient } from './relay-clients.js'
import { BACKLOG_MESSAGES, TICK_MS } from './relay-params.js'

export type Workload =
  /** `rate`: messages per second from this generator. */
  | { kind: 'dm-open'; rate: number }
  /** `window`: messages in flight per client. */
  | { kind: 'dm-closed'; window: number }
  /** `rate`: room messages per second from this generator; `members`: every member's address; `senders`: local indexes. */
  | { kind: 'fanout'; rate: number; room: string; members: readonly string[]; senders: readonly number[] }

/** Counts at the end of the measured window. Deliveries count each recipient. */
export interface WindowSample {
  windowMs: number
  /** Deliveries received by this generator's clients during the window (anyone's messages). */
  delivered: number
  /** Deliveries this generator's sends in the window asked for. */
  offered: number
  /** Open loop: deliveries not offered because too much was undelivered (backlog cap). */
  skipped: number
  /** This process's CPU time during the window, microseconds. */
  cpuUs: number
}

export interface DrainSample {
  /** Send → delivery of this generator's window messages delivered to its own clients, ms. */
  latenciesMs: number[]
  /** How many such deliveries were expected (the rest did not arrive before the drain deadline). */
  expected: number
  stored: number
  receipts: number
  errors: number
  firstErrors: string[]
}

interface Fanout {
  room: string
  senders: LoadClient[]
  recipients: Map<LoadClient, string[]>
  /** Recipients of one room message among this generator's clients. */
  localRecipients: number
}

export class Load implements ClientEvents {
  readonly #gen: number
  #clients: LoadClient[] = []
  readonly #byAddress = new Map<string, LoadClient>()
  #workload: Workload | undefined
  #fanout: Fanout | undefined
  #running = false
  #timer: ReturnType<typeof setTimeout> | undefined
  #warmupTag = ''
  #measuredTag = ''
  #tag = ''
  #seq = 0
  #rowStart = 0
  /** Open loop: sends due so far in this row. */
  #due = 0
  #nextSender = 0
  /** Deliveries asked for by this generator's sends in this row and received by its clients (backlog cap). */
  #ownExpected = 0
  #ownDelivered = 0
  #inWindow = false
  #windowStart = 0
  #cpuStart = 0
  #windowDelivered = 0
  #windowOffered = 0
  #skipped = 0
  #measuredExpected = 0
  #latencies: number[] = []
  #stored = 0
  #receipts = 0
  #errors = 0
  #firstErrors: string[] = []

  constructor(gen: number) {
    this.#gen = gen
  }

  setClients(clients: LoadClient[]): void {
    this.#clients = clients
    this.#byAddress.clear()
    for (const client of clients) this.#byAddress.set(client.address, client)
  }

  start(row: number, workload: Workload): void {
    this.#stopSending()
    this.#workload = workload
    this.#warmupTag = `w${row}g${this.#gen}`
    this.#measuredTag = `m${row}g${this.#gen}`
    this.#tag = this.#warmupTag
    this.#rowStart = performance.now()
    this.#due = 0
    this.#ownExpected = 0
    this.#ownDelivered = 0
    this.#inWindow = false
    this.#windowDelivered = 0
    this.#windowOffered = 0
    this.#skipped = 0
    this.#measuredExpected = 0
    this.#latencies = []
    this.#stored = 0
    this.#receipts = 0
    this.#errors = 0
    this.#firstErrors = []
    this.#fanout = workload.kind === 'fanout' ? this.#prepareFanout(workload) : undefined
    this.#running = true
    if (workload.kind === 'dm-closed') {
      for (const client of this.#clients) for (let i = 0; i < workload.window; i++) this.#sendDirect(client)
    } else {
      this.#tick()
    }
  }

  mark(): void {
    this.#tag = this.#measuredTag
    this.#inWindow = true
    this.#windowStart = performance.now()
    const cpu = cpuUsage()
    this.#cpuStart = cpu.user + cpu.system
  }

  stop(): WindowSample {
    this.#stopSending()
    const cpu = cpuUsage()
    const sample: WindowSample = {
      windowMs: performance.now() - this.#windowStart,
      delivered: this.#windowDelivered,
      offered: this.#windowOffered,
      skipped: this.#skipped,
      cpuUs: cpu.user + cpu.system - this.#cpuStart,
    }
    this.#inWindow = false
    return sample
  }

  /** Waits until every message of the row that this generator's clients should get has arrived (or `limitMs`). */
  async drain(limitMs: number): Promise<DrainSample> {
    const deadline = performance.now() + limitMs
    while (this.#ownDelivered < this.#ownExpected && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    return {
      latenciesMs: this.#latencies,
      expected: this.#measuredExpected,
      stored: this.#stored,
      receipts: this.#receipts,
      errors: this.#errors,
      firstErrors: this.#firstErrors,
    }
  }

  // ---- ClientEvents ----

  delivered(_client: LoadClient, from: string, id: string): void {
    if (this.#inWindow) this.#windowDelivered++
    const cut = id.indexOf('_')
    const tag = id.slice(0, cut)
    const measured = tag === this.#measuredTag
    if (!measured && tag !== this.#warmupTag) return
    this.#ownDelivered++
    if (measured) {
      const sentUs = parseInt(id.slice(cut + 1, id.indexOf('_', cut + 1)), 36)
      this.#latencies.push((performance.now() * 1000 - sentUs) / 1000)
    }
    if (this.#running && this.#workload?.kind === 'dm-closed') {
      const sender = this.#byAddress.get(from)
      if (sender) this.#sendDirect(sender)
    }
  }

  stored(count: number): void {
    this.#stored += count
  }

  receipt(): void {
    this.#receipts++
  }

  error(text: string): void {
    this.#errors++
    if (this.#firstErrors.length < 3 && !this.#firstErrors.includes(text)) this.#firstErrors.push(text)
  }

  // ---- sending ----

  #stopSending(): void {
    this.#running = false
    clearTimeout(this.#timer)
    this.#timer = undefined
  }

  #id(): string {
    return `${this.#tag}_${Math.round(performance.now() * 1000).toString(36)}_${(this.#seq++).toString(36)}`
  }

  #sendDirect(sender: LoadClient): void {
    let to = this.#clients[Math.floor(Math.random() * (this.#clients.length - 1))] as LoadClient
    if (to === sender) to = this.#clients[this.#clients.length - 1] as LoadClient
    sender.send(to.address, this.#id())
    this.#counted(1, 1)
  }

  #sendRoom(fanout: Fanout): void {
    const sender = fanout.senders[this.#nextSender++ % fanout.senders.length] as LoadClient
    const recipients = fanout.recipients.get(sender) as string[]
    sender.sendMany(recipients, this.#id(), fanout.room)
    this.#counted(recipients.length, fanout.localRecipients)
  }

  /** Books one send: `deliveries` recipients in all, `local` of them this generator's clients. */
  #counted(deliveries: number, local: number): void {
    this.#ownExpected += local
    if (this.#tag !== this.#measuredTag) return
    this.#windowOffered += deliveries
    this.#measuredExpected += local
  }

  #prepareFanout(workload: Extract<Workload, { kind: 'fanout' }>): Fanout {
    const senders = workload.senders.map((local) => this.#clients[local] as LoadClient)
    const recipients = new Map(senders.map((sender) => [sender, workload.members.filter((member) => member !== sender.address)]))
    const localMembers = workload.members.filter((member) => this.#byAddress.has(member)).length
    return { room: workload.room, senders, recipients, localRecipients: localMembers - 1 }
  }

  /** Open loop: sends what is due by now, skipping while the backlog is over the cap. */
  #tick(): void {
    if (!this.#running) return
    const workload = this.#workload
    if (workload?.kind !== 'dm-open' && workload?.kind !== 'fanout') return
    const fanout = this.#fanout
    const due = Math.floor(((performance.now() - this.#rowStart) / 1000) * workload.rate)
    for (; this.#due < due; this.#due++) {
      if (this.#ownExpected - this.#ownDelivered > BACKLOG_MESSAGES) {
        if (this.#tag === this.#measuredTag) this.#skipped += fanout ? (fanout.recipients.get(fanout.senders[0] as LoadClient)?.length ?? 0) : 1
        continue
      }
      if (fanout) this.#sendRoom(fanout)
      else this.#sendDirect(this.#clients[Math.floor(Math.random() * this.#clients.length)] as LoadClient)
    }
    this.#timer = setTimeout(() => this.#tick(), TICK_MS)
  }
}
