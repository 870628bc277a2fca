/**
 * Test processes that talk over Node's IPC channel: the parent starts a
 * compiled helper (optionally inside a network namespace, through
 * `ip netns exec`), waits for its "ready" message, sends it requests and
 * receives replies and events. The helper side serves requests with
 * `serveParent` and exits when the parent goes away, so a crashed test run
 * leaves no helper behind.
 *
 * Not a test file. Nothing here knows what the helpers do.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

type Json = unknown

interface Request {
  type: 'request'
  id: number
  op: string
  args: Json
}

type ChildMessage =
  | { type: 'ready'; value: Json }
  | { type: 'reply'; id: number; ok: true; value: Json }
  | { type: 'reply'; id: number; ok: false; error: string }
  | { type: 'event'; value: Json }

export interface StartOptions {
  /** The compiled helper, e.g. `new URL('./listener-child.js', import.meta.url)`. */
  script: URL
  /** Passed to the helper as its one argument, as JSON. */
  args?: Json
  /** Run the helper inside this network namespace. */
  netns?: string
  /** Extra Node flags, e.g. `--expose-gc`. */
  execArgv?: string[]
  /** Milliseconds to wait for "ready". Default 20 000. */
  readyTimeout?: number
  /** Names the helper in error messages. */
  label?: string
}

const OUTPUT_KEPT = 16 * 1024

/** The parent's handle on one helper process. */
export class Helper<Ready = Json> {
  readonly label: string
  readonly ready: Promise<Ready>
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  readonly #child: ChildProcess
  readonly #pending = new Map<number, { resolve(value: Json): void; reject(error: Error): void }>()
  readonly #eventHandlers = new Set<(event: Json) => void>()
  #nextId = 1
  #output = ''
  #gone = false

  constructor(options: StartOptions) {
    this.label = options.label ?? fileURLToPath(options.script).split('/').pop() ?? 'helper'
    const node = [...(options.execArgv ?? []), fileURLToPath(options.script), JSON.stringify(options.args ?? null)]
    const [command, args] = options.netns
      ? ['ip', ['netns', 'exec', options.netns, process.execPath, ...node]]
      : [process.execPath, node]
    // `ip netns exec` execs the command in place, so the IPC descriptor and
    // the process id carry over to node.
    this.#child = spawn(command as string, args as string[], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
    // Both outputs are kept (the tail) for error messages, not printed:
    // the test runner reads its own protocol from the test's stdout.
    for (const output of [this.#child.stdout, this.#child.stderr]) {
      output?.setEncoding('utf8')
      output?.on('data', (chunk: string) => {
        this.#output = (this.#output + chunk).slice(-OUTPUT_KEPT)
      })
    }
    this.exited = new Promise((resolve) => {
      const gone = (code: number | null, signal: NodeJS.Signals | null, why: string): void => {
        if (this.#gone) return
        this.#gone = true
        const error = new Error(`${this.label} ${why}${this.#outputNote()}`)
        for (const { reject } of this.#pending.values()) reject(error)
        this.#pending.clear()
        resolve({ code, signal })
      }
      // Not 'close': Node does not emit it for a child whose IPC channel the parent disconnected.
      this.#child.once('exit', (code, signal) => gone(code, signal, `exited (code ${code}, signal ${signal})`))
      // A process that could not be started emits 'error' and never closes.
      this.#child.on('error', (error) => gone(null, null, `could not be started: ${error.message}`))
    })
    let readyResolve: (value: Ready) => void = () => {}
    let readyReject: (error: Error) => void = () => {}
    this.ready = new Promise<Ready>((resolve, reject) => {
      readyResolve = resolve
      readyReject = reject
    })
    this.ready.catch(() => {})
    const readyTimer = setTimeout(
      () => readyReject(new Error(`${this.label} did not report ready within ${options.readyTimeout ?? 20_000} ms${this.#outputNote()}`)),
      options.readyTimeout ?? 20_000,
    )
    void this.exited.then(({ code, signal }) => {
      clearTimeout(readyTimer)
      readyReject(new Error(`${this.label} exited before it was ready (code ${code}, signal ${signal})${this.#outputNote()}`))
    })
    this.#child.on('message', (message: ChildMessage) => {
      if (message.type === 'ready') {
        clearTimeout(readyTimer)
        readyResolve(message.value as Ready)
      } else if (message.type === 'reply') {
        const waiter = this.#pending.get(message.id)
        this.#pending.delete(message.id)
        if (!waiter) return
        if (message.ok) waiter.resolve(message.value)
        else waiter.reject(new Error(`${this.label}: ${message.error}`))
      } else if (message.type === 'event') {
        for (const handler of this.#eventHandlers) handler(message.value)
      }
    })
  }

  /** The helper's process id (node's own, also when started through `ip netns exec`). */
  get pid(): number {
    const pid = this.#child.pid
    if (pid === undefined) throw new Error(`${this.label} has no process id (it failed to start)`)
    return pid
  }

  /** The end of what the helper wrote to stdout and stderr. */
  get output(): string {
    return this.#output
  }

  /** Sends a request and resolves with the helper's reply; rejects on its error, its exit or after `ms`. */
  request<T = Json>(op: string, args: Json = null, ms = 30_000): Promise<T> {
    if (this.#gone) return Promise.reject(new Error(`${this.label} is not running${this.#outputNote()}`))
    const id = this.#nextId++
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        reject(new Error(`${this.label} did not answer ${op} within ${ms} ms`))
      }, ms)
      this.#pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer)
          resolve(value as T)
        },
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      })
      const request: Request = { type: 'request', id, op, args }
      this.#child.send(request, (error) => {
        if (error) this.#pending.get(id)?.reject(error)
      })
    })
  }

  onEvent(handler: (event: Json) => void): () => void {
    this.#eventHandlers.add(handler)
    return () => this.#eventHandlers.delete(handler)
  }

  /** Resolves with the first event (from now on) that `match` accepts; rejects after `ms`. */
  nextEvent<T = Json>(match: (event: Json) => boolean, ms: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        off()
        reject(new Error(`${this.label}: no ${what} within ${ms} ms`))
      }, ms)
      const off = this.onEvent((event) => {
        if (!match(event)) return
        clearTimeout(timer)
        off()
        resolve(event as T)
      })
    })
  }

  /** Ends the helper: asks nicely by disconnecting, then SIGKILL after `graceMs`. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.#gone) return
    if (this.#child.connected) this.#child.disconnect()
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs)
    let giveUp: ReturnType<typeof setTimeout> | undefined
    const stuck = new Promise<void>((_, reject) => {
      giveUp = setTimeout(() => reject(new Error(`${this.label} (pid ${this.#child.pid}) did not exit even after SIGKILL`)), graceMs + 5000)
    })
    try {
      await Promise.race([this.exited, stuck])
    } finally {
      clearTimeout(timer)
      clearTimeout(giveUp)
    }
  }

  #outputNote(): string {
    return this.#output ? `\n--- ${this.label} output ---\n${this.#output.trimEnd()}` : ''
  }
}

export async function startHelper<Ready = Json>(options: StartOptions): Promise<Helper<Ready>> {
  const helper = new Helper<Ready>(options)
  try {
    await helper.ready
  } catch (error) {
    await helper.stop(0)
    throw error
  }
  return helper
}

// ---- the helper's side ----

export type Handlers = Record<string, (args: never) => unknown>

/**
 * Serves the parent's requests with `handlers` (sync or async; a throw is
 * sent back as an error) and returns a function that sends events. The
 * process exits when the parent disconnects or dies.
 */
export function serveParent(handlers: Handlers): { ready(value: Json): void; event(value: Json): void } {
  if (!process.send) throw new Error('this helper must be started with an IPC channel')
  const send = (message: ChildMessage): void => {
    if (process.connected) process.send?.(message)
  }
  process.on('message', (message: Request) => {
    if (message?.type !== 'request') return
    const handler = handlers[message.op]
    void (async () => {
      try {
        if (!handler) throw new Error(`unknown request ${message.op}`)
        const value = await (handler as (args: Json) => unknown)(message.args)
        send({ type: 'reply', id: message.id, ok: true, value: value ?? null })
      } catch (error) {
        send({ type: 'reply', id: message.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) })
      }
    })()
  })
  process.on('disconnect', () => process.exit(0))
  return {
    ready: (value) => send({ type: 'ready', value }),
    event: (value) => send({ type: 'event', value }),
  }
}

/** The helper's one JSON argument. */
export function helperArgs<T>(): T {
  return JSON.parse(process.argv[2] ?? 'null') as T
}
