/**
 * Runs relay-child.js in a child process and talks to it over IPC. Not a
 * test file itself.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import type { TestContext } from 'node:test'
import { withTimeout } from './support.js'

export interface RelayChild {
  readonly process: ChildProcess
  readonly address: string
  readonly port: number
  /** Everything the child wrote to stderr so far (its logs). */
  stderr(): string
  request<T>(message: object, key: string): Promise<T>
  kill(): Promise<void>
}

const childScript = new URL('./relay-child.js', import.meta.url)

export async function startRelayChild(
  t: Pick<TestContext, 'after'>,
  databasePath: string,
  identityFile: string,
  port = 0,
  limits?: object,
): Promise<RelayChild> {
  const args = [databasePath, identityFile, String(port), ...(limits ? [JSON.stringify(limits)] : [])]
  // KEYPIN_RELAY_CHILD_ARGS passes extra node flags (e.g. --cpu-prof) when measuring.
  const execArgv = process.env['KEYPIN_RELAY_CHILD_ARGS']?.split(' ').filter(Boolean) ?? []
  const child = fork(childScript, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], execArgv })
  let stderr = ''
  child.stderr?.setEncoding('utf8')
  child.stderr?.on('data', (chunk: string) => {
    stderr += chunk
  })
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  let stdout = ''
  child.stdout?.setEncoding('utf8')
  const address = await withTimeout(
    new Promise<string>((resolve, reject) => {
      child.stdout?.on('data', (chunk: string) => {
        stdout += chunk
        const line = stdout.split('\n')
        if (line.length > 1) resolve((line[0] as string).trim())
      })
      child.once('exit', (code) => reject(new Error(`relay child exited with ${code} before printing its address: ${stderr}`)))
    }),
    15_000,
    'the relay child to start',
  )
  return {
    process: child,
    address,
    port: Number(address.split(':')[1]),
    stderr: () => stderr,
    async request<T>(message: object, key: string): Promise<T> {
      const reply = withTimeout(
        new Promise<T>((resolve) => {
          const onMessage = (value: Record<string, unknown>): void => {
            if (!(key in value)) return
            child.off('message', onMessage)
            resolve(value[key] as T)
          }
          child.on('message', onMessage)
        }),
        60_000,
        `the relay child to answer ${JSON.stringify(message)}`,
      )
      child.send(message)
      return reply
    },
    async kill(): Promise<void> {
      const exited = once(child, 'exit')
      child.kill('SIGKILL')
      await exited
    },
  }
}
