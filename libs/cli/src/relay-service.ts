/**
 * The relay behind `keypin serve --relay`: @keypin/relay/server on a
 * listener, with its SQLite database, and optionally its HTTP endpoint for
 * /metrics and /health. The relay's code (and SQLite) is loaded only when
 * this mode is used.
 */
import { mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { Listener } from '@keypin/core'

export interface RelayServiceOptions {
  databasePath: string
  /** Where to serve /metrics and /health; none when absent. */
  http: { host: string; port: number } | undefined
}

export interface RelayService {
  /** The HTTP endpoint's base URL, when there is one. */
  readonly httpUrl: string | undefined
  /** Stops the HTTP endpoint and the relay (connections, then the database). Leaves the listener open. */
  close(): Promise<void>
}

export async function startRelayService(listener: Listener, options: RelayServiceOptions): Promise<RelayService> {
  const { startRelay, startRelayHttp } = await import('@keypin/relay/server')
  await mkdir(dirname(options.databasePath), { recursive: true, mode: 0o700 })
  const relay = startRelay({ listener, databasePath: options.databasePath })
  let http: Awaited<ReturnType<typeof startRelayHttp>> | undefined
  try {
    http = options.http === undefined ? undefined : await startRelayHttp(relay, options.http)
  } catch (error) {
    await relay.close()
    throw error
  }
  return {
    httpUrl: http?.url,
    close: async () => {
      await http?.close()
      await relay.close()
    },
  }
}
