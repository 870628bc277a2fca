/**
 * Runs the chat demo server (demos/chat/dist/server/main.js) as a child
 * process, the way `npm start` does, and waits for the addresses it
 * reports over IPC. Stopping it by signal lets a test restart it on the
 * same ports and data directory.
 */
import { execFile, fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
// Types only: importing the module itself would start a server.
import type { ReadyMessage as ChatReady } from '../../demos/chat/server/main.js'

const MAIN = fileURLToPath(new URL('../../../demos/chat/dist/server/main.js', import.meta.url))

export interface ChatProcess {
  readonly ready: ChatReady
  readonly child: ChildProcess
  /** Everything the server printed so far, stdout and stderr interleaved. */
  output(): string
  /** Sends `signal` and waits for the exit; resolves with the exit code (null after a kill). */
  stop(signal?: NodeJS.Signals): Promise<number | null>
}

export interface ChatProcessOptions {
  dataDir: string
  relayPort?: number
  httpPort?: number
  /** Pass the settings as KEYPIN_CHAT_* environment variables instead of flags. */
  viaEnvironment?: boolean
}

export async function startChatProcess(options: ChatProcessOptions): Promise<ChatProcess> {
  const settings = { port: String(options.relayPort ?? 0), 'http-port': String(options.httpPort ?? 0), 'data-dir': options.dataDir }
  const args = options.viaEnvironment ? [] : Object.entries(settings).flatMap(([flag, value]) => [`--${flag}`, value])
  const env = { ...process.env }
  if (options.viaEnvironment) {
    for (const [flag, value] of Object.entries(settings)) env[`KEYPIN_CHAT_${flag.replace('-', '_').toUpperCase()}`] = value
  }
  const child = fork(MAIN, args, { stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))

  const ready = await new Promise<ChatReady>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error('the chat server did not report ready within 30 s')), 30_000)
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      fail(new Error(`the chat server exited early (code ${code}, signal ${signal})`))
    const fail = (error: Error): void => {
      clearTimeout(timer)
      child.kill('SIGKILL')
      reject(new Error(`${error.message}\n--- server output ---\n${output}`))
    }
    child.on('message', (message: unknown) => {
      if (typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'ready') {
        clearTimeout(timer)
        child.off('exit', onExit)
        resolve(message as ChatReady)
      }
    })
    child.once('exit', onExit)
  })

  let stopping: Promise<number | null> | undefined
  return {
    ready,
    child,
    output: () => output,
    stop(signal = 'SIGTERM') {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal)
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
        try {
          return await exited
        } finally {
          clearTimeout(timer)
        }
      })()
      return stopping
    },
  }
}

/** Runs the server with `args` expecting it to refuse them; resolves with its exit code and stderr. */
export function runChatRefusing(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 20_000 }, (error, _stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stderr })
    })
  })
}
