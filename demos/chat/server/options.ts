/**
 * Command-line flags and environment variables of the chat demo server.
 * Flags win over the environment, the environment over the defaults. Every
 * value is checked here, so the rest of the server only sees valid options.
 */
import { isIP } from 'node:net'
import { join } from 'node:path'
import { parseArgs } from 'node:util'

export interface ChatServerOptions {
  /** IP the relay's UDP port binds to. */
  relayHost: string
  /** UDP port of the relay (QUIC and WebRTC); 0 picks a free one. */
  relayPort: number
  /** IP written into the printed address, when it differs from the bind IP (e.g. a LAN IP for a wildcard bind). */
  advertiseHost: string | undefined
  /** IP the HTTP server (page, /metrics, /health) binds to. */
  httpHost: string
  /** TCP port of the HTTP server; 0 picks a free one. */
  httpPort: number
  /** Holds the relay's TLS identity and its database, so the address and the mailboxes survive restarts. */
  dataDir: string
  /** Relay log lines on stderr. */
  quiet: boolean
}

export const DEFAULTS = {
  relayHost: '127.0.0.1',
  relayPort: 4242,
  httpHost: '127.0.0.1',
  httpPort: 8080,
  dataDir: '.keypin',
} as const

export const USAGE = `usage: node demos/chat/dist/server/main.js [options]

  --host <ip>           relay bind IP              (KEYPIN_CHAT_HOST, default ${DEFAULTS.relayHost})
  --port <n>            relay UDP port, 0 = any    (KEYPIN_CHAT_PORT, default ${DEFAULTS.relayPort})
  --advertise <ip>      IP to print in the address (KEYPIN_CHAT_ADVERTISE, default: the bind IP)
  --http-host <ip>      HTTP bind IP               (KEYPIN_CHAT_HTTP_HOST, default ${DEFAULTS.httpHost})
  --http-port <n>       HTTP TCP port, 0 = any     (KEYPIN_CHAT_HTTP_PORT, default ${DEFAULTS.httpPort})
  --data-dir <dir>      identity and database      (KEYPIN_CHAT_DATA_DIR, default ${DEFAULTS.dataDir})
  --quiet               no relay log lines on stderr
  --help                this text`

export class UsageError extends Error {
  override readonly name = 'UsageError'
}

export function identityFileIn(dataDir: string): string {
  return join(dataDir, 'chat-identity.pem')
}

export function databaseFileIn(dataDir: string): string {
  return join(dataDir, 'chat-relay.db')
}

/** Parses argv (without node and the script) and the environment. Throws {@link UsageError}. */
export function parseOptions(argv: readonly string[], env: NodeJS.ProcessEnv): ChatServerOptions | 'help' {
  let values
  try {
    ;({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        advertise: { type: 'string' },
        'http-host': { type: 'string' },
        'http-port': { type: 'string' },
        'data-dir': { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }))
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error))
  }
  if (values.help) return 'help'
  const advertise = values.advertise ?? env.KEYPIN_CHAT_ADVERTISE
  return {
    relayHost: ip('--host', values.host ?? env.KEYPIN_CHAT_HOST ?? DEFAULTS.relayHost),
    relayPort: port('--port', values.port ?? env.KEYPIN_CHAT_PORT ?? String(DEFAULTS.relayPort)),
    advertiseHost: advertise === undefined || advertise === '' ? undefined : ip('--advertise', advertise),
    httpHost: ip('--http-host', values['http-host'] ?? env.KEYPIN_CHAT_HTTP_HOST ?? DEFAULTS.httpHost),
    httpPort: port('--http-port', values['http-port'] ?? env.KEYPIN_CHAT_HTTP_PORT ?? String(DEFAULTS.httpPort)),
    dataDir: nonEmpty('--data-dir', values['data-dir'] ?? env.KEYPIN_CHAT_DATA_DIR ?? DEFAULTS.dataDir),
    quiet: values.quiet ?? false,
  }
}

function ip(flag: string, value: string): string {
  if (isIP(value) === 0) throw new UsageError(`${flag} must be an IP literal (no host names), got ${JSON.stringify(value)}`)
  return value
}

function port(flag: string, value: string): number {
  if (!/^(0|[1-9][0-9]{0,4})$/.test(value) || Number(value) > 65535) {
    throw new UsageError(`${flag} must be a port number from 0 to 65535, got ${JSON.stringify(value)}`)
  }
  return Number(value)
}

function nonEmpty(flag: string, value: string): string {
  if (value === '') throw new UsageError(`${flag} must not be empty`)
  return value
}
