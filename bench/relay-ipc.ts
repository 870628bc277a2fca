/**
 * Request/reply over the fork IPC channel, for the relay bench's children
 * (the server child and the load generators). The parent forks a script and
 * waits for its `ready` value; then `call(cmd, args)` runs the child's
 * handler for `cmd` and resolves with what it returned, under a time limit.
 * The child side is `serve(handlers)` plus `ready(value)`.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { errorText } from './common.js'
import { withTimeout } from './timing.js'

interface Request {
  id: number
  cmd: string
  args: unknown
}

type Reply = { id: number; value: unknown } | { id: number; error: string }

type Event = { ready: unknown } | { fatal: string }

/** The parent's handle on one child. */
export class Child {
  readonly name: string
  readonly process: ChildProcess
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>()
  readonly #stderr: string[] = []
  #nextId = 1
  #exited: string | undefined

  private constructor(name: string, script: URL, args: string[], execArgv: string[]) {
    this.name = name
    this.process = fork(script, args, { execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
    this.process.stderr?.setEncoding('utf8')
    // Always read stderr: a full pipe would block the child.
    this.process.stderr?.on('data', (text: string) => {
      this.#stderr.push(text)
      if (this.#stderr.length > 20) this.#stderr.shift()
    })
    this.process.on('message', (raw) => {
      const reply = raw as Reply
      const pending = this.#pending.get(reply.id)
      if (!pending) return
      this.#pending.delete(reply.id)
      if ('error' in reply) pending.reject(new Error(`${name}: ${reply.error}`))
      else pending.resolve(reply.value)
    })
    this.process.on('exit', (code, signal) => {
      this.#exited = `${name} exited (${signal ?? `code ${code}`})${this.stderrTail ? `: ${this.stderrTail}` : ''}`
      for (const pending of this.#pending.values()) pending.reject(new Error(this.#exited))
      this.#pending.clear()
    })
  }

  /** Forks `script` and waits (at most `limitMs`) for the value it passes to ready(). */
  static async start<T>(name: string, script: URL, args: string[], execArgv: string[] = [], limitMs = 20_000): Promise<{ child: Child; ready: T }> {
    const child = new Child(name, script, args, execArgv)
    const ready = new Promise<T>((resolve, reject) => {
      child.process.on('message', (raw) => {
        const event = raw as Event
        if ('ready' in event) resolve(event.ready as T)
        if ('fatal' in event) reject(new Error(`${name} failed to start: ${event.fatal}`))
      })
      child.process.on('exit', () => reject(new Error(child.#exited)))
    })
    try {
      return { child, ready: await withTimeout(ready, limitMs, `${name} start`) }
    } catch (error) {
      child.kill()
      throw error
    }
  }

  get stderrTail(): string {
    return this.#stderr.join('').trim().split('\n').slice(-3).join(' | ').slice(0, 300)
  }

  call<T>(cmd: string, args: unknown = null, limitMs = 10_000): Promise<T> {
    if (this.#exited) return Promise.reject(new Error(this.#exited))
    const id = this.#nextId++
    const answer = new Promise<T>((resolve, reject) => this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject }))
    const request: Request = { id, cmd, args }
    this.process.send(request)
    return withTimeout(answer, limitMs, `${this.name} ${cmd}`)
  }

  /** Asks the child to exit (it exits when the IPC channel closes); SIGKILL after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.#exited) return
    const exited = new Promise((resolve) => this.process.once('exit', resolve))
    if (this.process.connected) this.process.disconnect()
    await withTimeout(exited, graceMs, `${this.name} exit`).catch(() => this.kill())
  }

  kill(): void {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill('SIGKILL')
  }
}

type Handler = (args: never) => unknown

/** Child side: answers the parent's calls with `handlers`; a handler's throw or rejection becomes the call's error. */
export function serve(handlers: Record<string, Handler>): void {
  process.on('message', (raw) => {
    const { id, cmd, args } = raw as Request
    const handler = handlers[cmd]
    const reply = (message: Reply): void => void process.send?.(message)
    if (!handler) return reply({ id, error: `unknown command ${cmd}` })
    Promise.resolve()
      .then(() => handler(args as never))
      .then(
        (value) => reply({ id, value: value ?? null }),
        (error: unknown) => reply({ id, error: errorText(error) }),
      )
  })
}

/** Child side: tells the parent the child is up. */
export function ready(value: unknown): void {
  process.send?.({ ready: value })
}

/** Child side: tells the parent start-up failed, then exits. */
export function fatal(error: unknown): void {
  const exit = (): never => process.exit(1)
  if (process.send) process.send({ fatal: errorText(error) }, exit)
  else exit()
}
