/**
 * `keypin serve`: a listener on one UDP port running the echo service or the
 * messaging relay. The dialable address is the first line on stdout (for
 * scripts); everything meant for people goes to stderr.
 */
import { parseArgs } from 'node:util'
import { listen, type KeypinListener } from '@keypin/server'
import { expectPositionals, parseHost, parseHostPort, parsePort, withUsageErrors } from './args.js'
import { runEcho } from './echo.js'
import { EXIT_OK, UsageError } from './errors.js'
import { startRelayService } from './relay-service.js'
import { closeWithin, shutdownRequested } from './shutdown.js'

const DEFAULT_HOST = '127.0.0.1'
const DEFAULT_PORT = 4242
const DEFAULT_ECHO_IDENTITY = '.keypin/echo-identity.pem'
const DEFAULT_RELAY_IDENTITY = '.keypin/relay-identity.pem'
const DEFAULT_DATABASE = '.keypin/relay.db'
/** Connections get `closeTimeout` (2 s) to close; this bounds everything else too. */
const SHUTDOWN_MS = 10_000

export interface ServeOptions {
  mode: 'echo' | 'relay'
  host: string
  port: number
  identityFile: string
  /** Relay mode only. */
  databasePath: string
  /** Relay mode only: where to serve /metrics and /health. */
  http: { host: string; port: number } | undefined
}

/** Parses `keypin serve` arguments; `undefined` means help was asked for. */
export function parseServeArgs(args: string[]): ServeOptions | undefined {
  const { values, positionals } = withUsageErrors('serve', () =>
    parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        echo: { type: 'boolean' },
        relay: { type: 'boolean' },
        identity: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        db: { type: 'string' },
        http: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  )
  if (values.help) return undefined
  expectPositionals('serve', positionals, [])
  if (values.echo && values.relay) throw new UsageError('serve', '--echo and --relay cannot be combined')
  const mode = values.relay ? 'relay' : 'echo'
  if (mode === 'echo') {
    for (const flag of ['db', 'http'] as const) {
      if (values[flag] !== undefined) throw new UsageError('serve', `--${flag} applies to --relay only`)
    }
  }
  for (const flag of ['identity', 'db'] as const) {
    if (values[flag] === '') throw new UsageError('serve', `--${flag} must not be empty`)
  }
  const options: ServeOptions = {
    mode,
    host: values.host === undefined ? DEFAULT_HOST : parseHost('serve', '--host', values.host),
    port: values.port === undefined ? DEFAULT_PORT : parsePort('serve', '--port', values.port),
    identityFile: values.identity ?? (mode === 'relay' ? DEFAULT_RELAY_IDENTITY : DEFAULT_ECHO_IDENTITY),
    databasePath: values.db ?? DEFAULT_DATABASE,
    http: values.http === undefined ? undefined : parseHostPort('serve', '--http', values.http),
  }
  return options
}

export async function serve(options: ServeOptions): Promise<number> {
  const log = (line: string): void => void process.stderr.write(`${line}\n`)
  // Listening for signals before the address is out: whoever reads it may signal at once.
  const stopping = shutdownRequested()
  const listener = await listen({ host: options.host, port: options.port, identityFile: options.identityFile })
  let service: RunningService
  try {
    service = await startService(listener, options, log)
  } catch (error) {
    await listener.close()
    throw error
  }

  process.stdout.write(`${listener.address}\n`)
  log(`keypin ${options.mode} listener on UDP ${listener.localAddress.host}:${listener.localAddress.port} (QUIC and WebRTC)`)
  const client = options.mode === 'relay' ? 'chat' : 'dial'
  log(`  ${client}:      keypin ${client} ${listener.address}`)
  if (options.host === '0.0.0.0' || options.host === '::') {
    log(`  from elsewhere: <public-ip>:${listener.localAddress.port}:${listener.certhash}`)
  }
  log(`  identity:  ${options.identityFile} (keeps the address across restarts)`)
  if (options.mode === 'relay') log(`  database:  ${options.databasePath}`)
  if (service.httpUrl !== undefined) log(`  metrics:   ${service.httpUrl}/metrics (and /health)`)
  log('  Ctrl-C stops it.')

  const signal = await stopping
  log(`${signal}: closing`)
  await closeWithin(SHUTDOWN_MS, () => service.stop(), log)
  return EXIT_OK
}

interface RunningService {
  readonly httpUrl: string | undefined
  /** Stops the service and closes the listener. */
  stop(): Promise<void>
}

async function startService(listener: KeypinListener, options: ServeOptions, log: (line: string) => void): Promise<RunningService> {
  if (options.mode === 'relay') {
    const relay = await startRelayService(listener, { databasePath: options.databasePath, http: options.http })
    return {
      httpUrl: relay.httpUrl,
      stop: async () => {
        // Connections and the database first; then the socket goes.
        await relay.close()
        await listener.close()
      },
    }
  }
  const serving = runEcho(listener, log)
  return {
    httpUrl: undefined,
    stop: async () => {
      await listener.close()
      await serving.catch(() => {}) // the accept loop ends with the listener
    },
  }
}
