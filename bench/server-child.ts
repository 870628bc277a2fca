/**
 * The bench server as seen from the parent: forks bench/dist/server.js for one
 * server kind, waits for its `ready` message (address), asks it for stats over
 * the IPC channel, keeps the tail of its stderr for error reports, kills it.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { ChildMessage, NdcSignal, ParentMessage, ServerKind, ServerStats } from './common.js'
import { withTimeout } from './timing.js'

export type ServerReady = Extract<ChildMessage, { type: 'ready' }>

export class ServerChild {
  readonly kind: ServerKind
  readonly #child: ChildProcess
  readonly #stderr: string[] = []
  readonly #pending = new Map<number, (stats: ServerStats) => void>()
  readonly #signalHandlers = new Map<number, (signal: NdcSignal) => void>()
  #nextId = 1
  #exited: string | undefined
  ready!: ServerReady

  private constructor(kind: ServerKind) {
    this.kind = kind
    const script = fileURLToPath(new URL('./server.js', import.meta.url))
    this.#child = fork(script, [kind], { execArgv: ['--expose-gc'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
    this.#child.stderr?.setEncoding('utf8')
    this.#child.stderr?.on('data', (text: string) => {
      this.#stderr.push(text)
      if (this.#stderr.length > 20) this.#stderr.shift()
    })
    this.#child.on('message', (raw) => {
      const message = raw as ChildMessage
      if (message.type === 'stats') {
        this.#pending.get(message.id)?.(message.stats)
        this.#pending.delete(message.id)
      } else if (message.type === 'ndc-description' || message.type === 'ndc-candidate' || message.type === 'ndc-close') {
        this.#signalHandlers.get(message.conn)?.(message)
      }
    })
    this.#child.on('exit', (code, signal) => {
      this.#exited = `server child exited (${signal ?? `code ${code}`})`
    })
  }

  static async start(kind: ServerKind): Promise<ServerChild> {
    const server = new ServerChild(kind)
    const ready = new Promise<ServerReady>((resolve, reject) => {
      server.#child.on('message', (raw) => {
        const message = raw as ChildMessage
        if (message.type === 'ready') resolve(message)
        if (message.type === 'fatal') reject(new Error(`server child failed to start: ${message.message}`))
      })
      server.#child.on('exit', () => reject(new Error(`server child exited before it was ready: ${server.stderrTail}`)))
    })
    try {
      server.ready = await withTimeout(ready, 15_000, `${kind} server start`)
    } catch (error) {
      server.kill()
      throw error
    }
    return server
  }

  get stderrTail(): string {
    return this.#stderr.join('').trim().split('\n').slice(-3).join(' | ').slice(0, 300)
  }

  stats(gc = false): Promise<ServerStats> {
    if (this.#exited) return Promise.reject(new Error(this.#exited))
    const id = this.#nextId++
    const answer = new Promise<ServerStats>((resolve) => this.#pending.set(id, resolve))
    const message: ParentMessage = { type: 'stats', id, gc }
    this.#child.send(message)
    return withTimeout(answer, 5_000, 'server stats')
  }

  /** ndc-direct/ndc-relayed signalling: messages from the child for peer connection `conn` go to `handler` until the returned function is called. */
  onSignal(conn: number, handler: (signal: NdcSignal) => void): () => void {
    this.#signalHandlers.set(conn, handler)
    return () => this.#signalHandlers.delete(conn)
  }

  signal(message: NdcSignal): void {
    if (this.#exited) throw new Error(this.#exited)
    this.#child.send(message)
  }

  kill(): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill('SIGKILL')
  }
}
