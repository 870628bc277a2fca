/**
 * The chat demo's server side: one Keypin listener (UDP; QUIC for Node,
 * WebRTC for browsers) carrying the messaging relay, and one small HTTP
 * server for the page, /metrics, /health and /relay-address. Both keep
 * their state under one data directory: the TLS identity (so the address
 * survives restarts) and the relay's SQLite database (so do the mailboxes).
 */
import { createServer, type Server } from 'node:http'
import { mkdir } from 'node:fs/promises'
import { isIPv6 } from 'node:net'
import { fileURLToPath } from 'node:url'
import { listen, type KeypinListener } from '@keypin/server'
import { createRelayHttpHandler, startRelay, type RelayServer } from '@keypin/relay/server'
import { databaseFileIn, identityFileIn, type ChatServerOptions } from './options.js'
import { plain, staticFiles } from './static-files.js'

/** Vite's output, relative to this file once compiled to dist/server/. */
export const PAGE_DIRECTORY = fileURLToPath(new URL('../../dist-page/', import.meta.url))

export interface ChatServer {
  /** The dialable relay address, `<ip>:<port>:<certhash>`. */
  readonly relayAddress: string
  /** The HTTP server's origin, e.g. `http://127.0.0.1:8080`. */
  readonly httpUrl: string
  /** The page with the relay address filled in. */
  readonly pageUrl: string
  /** The ports actually bound (useful when 0 was asked for). */
  readonly relayPort: number
  readonly httpPort: number
  readonly relay: RelayServer
  /** Stops HTTP, then the relay, then the listener. Safe to call twice. */
  close(): Promise<void>
}

export async function startChatServer(
  options: ChatServerOptions,
  pageDirectory: string = PAGE_DIRECTORY,
): Promise<ChatServer> {
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 })
  const listener = await listen({
    host: options.relayHost,
    port: options.relayPort,
    identityFile: identityFileIn(options.dataDir),
  })
  let relay: RelayServer | undefined
  let http: Server | undefined
  try {
    relay = startRelay({
      listener,
      databasePath: databaseFileIn(options.dataDir),
      ...(options.quiet ? { logger: false as const } : {}),
    })
    const relayAddress = options.advertiseHost ? listener.addressFor(options.advertiseHost) : listener.address
    http = await startHttp(relay, relayAddress, pageDirectory, options.httpHost, options.httpPort)
    return describeServer(listener, relay, http, relayAddress, options.advertiseHost)
  } catch (error) {
    await relay?.close().catch(() => {})
    await listener.close().catch(() => {})
    throw error
  }
}

function describeServer(
  listener: KeypinListener,
  relay: RelayServer,
  http: Server,
  relayAddress: string,
  advertiseHost: string | undefined,
): ChatServer {
  const bound = http.address()
  if (bound === null || typeof bound === 'string') throw new Error('the HTTP server is not bound to a TCP port')
  // A wildcard bind is reached at the advertised IP, else at loopback.
  const wildcard = bound.address === '0.0.0.0' || bound.address === '::'
  const host = wildcard ? (advertiseHost ?? (bound.address === '::' ? '::1' : '127.0.0.1')) : bound.address
  const httpUrl = `http://${isIPv6(host) ? `[${host}]` : host}:${bound.port}`
  let closing: Promise<void> | undefined
  return {
    relayAddress,
    httpUrl,
    pageUrl: pageUrlFor(httpUrl, relayAddress),
    relayPort: listener.localAddress.port,
    httpPort: bound.port,
    relay,
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolve) => {
          http.close(() => resolve())
          http.closeAllConnections()
        })
        await relay.close()
        await listener.close()
      })()
      return closing
    },
  }
}

/**
 * The page reads the relay address from the fragment (`#/<address>`), which
 * the browser never sends to the HTTP server. Brackets and anything unusual
 * are percent-encoded; the colons of the address stay readable.
 */
export function pageUrlFor(httpUrl: string, relayAddress: string): string {
  return `${httpUrl}/#/${encodeURIComponent(relayAddress).replaceAll('%3A', ':')}`
}

async function startHttp(
  relay: RelayServer,
  relayAddress: string,
  pageDirectory: string,
  host: string,
  port: number,
): Promise<Server> {
  const relayRoutes = createRelayHttpHandler(relay)
  const page = staticFiles(pageDirectory)
  const server = createServer((request, response) => {
    if (relayRoutes(request, response)) return
    const path = (request.url ?? '/').split('?')[0]
    if (path === '/relay-address' && (request.method === 'GET' || request.method === 'HEAD')) {
      return plain(response, 200, `${relayAddress}\n`)
    }
    page(request, response).catch(() => {
      if (!response.headersSent) plain(response, 500, 'internal error\n')
      else response.destroy()
    })
  })
  // Slow or idle clients may not pin sockets forever.
  server.requestTimeout = 30_000
  server.headersTimeout = 10_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return server
}
