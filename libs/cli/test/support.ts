/**
 * Helpers for the command's tests: run the built `keypin` in a child
 * process with bounded time, start a `keypin serve` and read its address,
 * make a private temporary directory. Not a test file itself.
 *
 * Every child a helper starts is killed after the test if it is still
 * running, so a failing test leaves no process behind.
 */
import assert from 'node:assert/strict'
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TestContext } from 'node:test'

/** The built command, run the way npm's `keypin` bin runs it. */
export const CLI = fileURLToPath(new URL('../dist/main.js', import.meta.url))

/** Upper bound for one short command (a dial, a help text) on loopback. */
export const STEP_MS = 15_000

export interface Finished {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: Buffer
  stderr: string
}

/** A `keypin` child; `exited` settles with its output once it ends. */
export interface Running {
  readonly child: ChildProcessWithoutNullStreams
  /** Its stdout and stderr, line by line, as they arrive. */
  readonly stdoutLines: Lines
  readonly stderrLines: Lines
  readonly exited: Promise<Finished>
}

/** Starts `keypin ...args` in `cwd`; killed after the test if still running. */
export function start(t: TestContext, args: string[], cwd: string = tmpdir()): Running {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, stdio: 'pipe' })
  const stdoutLines = new Lines(child.stdout)
  const stderrLines = new Lines(child.stderr)
  const stdout: Buffer[] = []
  const stderr: Buffer[] = []
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk))
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk))
  const exited = new Promise<Finished>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', (code, signal) =>
      resolve({ code, signal, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString('utf8') }),
    )
  })
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  return { child, stdoutLines, stderrLines, exited }
}

/**
 * Runs `keypin ...args` to completion with `input` on stdin (then EOF).
 * Fails the test if it has not exited within `ms`.
 */
export async function run(
  t: TestContext,
  args: string[],
  options: { input?: Uint8Array | string; cwd?: string; ms?: number } = {},
): Promise<Finished> {
  const running = start(t, args, options.cwd)
  running.child.stdin.on('error', () => {}) // a child that exits early closes its stdin
  running.child.stdin.end(options.input ?? '')
  return within(options.ms ?? STEP_MS, running.exited, `keypin ${args.join(' ')}`)
}

/** A running `keypin serve` and the address it printed. */
export interface Served extends Running {
  readonly address: string
  /** Sends `signal` and returns how the process ended. */
  stop(signal?: NodeJS.Signals): Promise<Finished>
}

/** Starts `keypin serve ...args` and waits for the address on its first stdout line. */
export async function serve(t: TestContext, args: string[], cwd?: string): Promise<Served> {
  const running = start(t, ['serve', ...args], cwd)
  let address: string
  try {
    address = (await running.stdoutLines.expect(/^.*$/))[0]
  } catch (error) {
    const finished = await within(STEP_MS, running.exited, 'keypin serve').catch(() => undefined)
    const why = finished === undefined ? '' : ` (exit ${finished.code}): ${finished.stderr}`
    throw new Error(`keypin serve printed no address${why}`, { cause: error })
  }
  return {
    ...running,
    address,
    stop: (signal = 'SIGTERM') => {
      running.child.kill(signal)
      return within(STEP_MS, running.exited, `keypin serve after ${signal}`)
    },
  }
}

/** A private temporary directory, removed after the test. */
export async function temporaryDirectory(t: TestContext): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), 'keypin-cli-'))
  t.after(() => rm(directory, { recursive: true, force: true }))
  return directory
}

/** `promise`, or a failure naming `what` after `ms`. */
export async function within<T>(ms: number, promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Asserts a clean exit and returns stdout. */
export function succeeded(finished: Finished): Buffer {
  assert.equal(finished.code, 0, `exit ${finished.code} (${finished.signal}); stderr: ${finished.stderr}`)
  return finished.stdout
}

/**
 * The lines a child prints, for tests that converse with it. `expect`
 * claims the first unclaimed line matching a pattern, waiting for it if it
 * has not arrived yet, so events that race each other can be awaited in any
 * order.
 */
export class Lines {
  readonly #lines: string[] = []
  readonly #claimed = new Set<number>()
  #partial = ''
  #waiters: (() => void)[] = []
  #ended = false

  constructor(stream: NodeJS.ReadableStream) {
    stream.on('data', (chunk: Buffer | string) => {
      const parts = (this.#partial + chunk.toString()).split('\n')
      this.#partial = parts.pop() ?? ''
      this.#lines.push(...parts)
      this.#wake()
    })
    stream.on('end', () => {
      this.#ended = true
      this.#wake()
    })
  }

  /** Every complete line so far. */
  get all(): readonly string[] {
    return this.#lines
  }

  async expect(pattern: RegExp, ms: number = STEP_MS): Promise<RegExpExecArray> {
    const deadline = Date.now() + ms
    for (;;) {
      for (let index = 0; index < this.#lines.length; index++) {
        if (this.#claimed.has(index)) continue
        const match = pattern.exec(this.#lines[index] as string)
        if (match) {
          this.#claimed.add(index)
          return match
        }
      }
      const left = deadline - Date.now()
      if (this.#ended || left <= 0) {
        const why = this.#ended ? 'the output ended' : `${ms} ms passed`
        throw new Error(`no line matching ${pattern} (${why}); lines so far:\n${this.#lines.join('\n')}`)
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  #wake(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const wake of waiters) wake()
  }
}
