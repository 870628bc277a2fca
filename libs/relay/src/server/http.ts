/**
 * HTTP for operators: GET /metrics (Prometheus text) and GET /health. The
 * handler plugs into any node:http server; startRelayHttp runs one.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { RelayError } from '../protocol/errors.js'
import type { RelayServer } from './relay.js'

/**
 * A request handler for /metrics and /health. It returns true when it took
 * the request, false to let the caller serve it.
 */
export function createRelayHttpHandler(relay: RelayServer): (req: IncomingMessage, res: ServerResponse) => boolean {
  return (req, res) => {
    const path = (req.url ?? '').split('?')[0]
    if (path !== '/metrics' && path !== '/health') return false
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' })
      res.end('method not allowed\n')
      return true
    }
    if (path === '/health') {
      const healthy = !relay.closed
      const body = JSON.stringify(healthy ? { status: 'ok', ...relay.stats } : { status: 'closed' })
      res.writeHead(healthy ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' })
      res.end(req.method === 'HEAD' ? undefined : body)
      return true
    }
    relay.metrics.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': relay.metrics.contentType, 'cache-control': 'no-store' })
        res.end(req.method === 'HEAD' ? undefined : text)
      },
      () => {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' })
        res.end('metrics unavailable\n')
      },
    )
    return true
  }
}

export interface RelayHttp {
  /** Base URL, e.g. http://127.0.0.1:9100 */
  readonly url: string
  close(): Promise<void>
}

/** Serves /metrics and /health on `host:port` (port 0 picks a free port); anything else is 404. */
export async function startRelayHttp(relay: RelayServer, options: { host: string; port: number }): Promise<RelayHttp> {
  if (typeof options?.host !== 'string' || options.host === '') throw new RelayError('invalid-argument', 'options.host must be an IP address or host name')
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) {
    throw new RelayError('invalid-argument', `options.port must be an integer from 0 to 65535, got ${String(options.port)}`)
  }
  const handle = createRelayHttpHandler(relay)
  const server = createServer((req, res) => {
    if (!handle(req, res)) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
      res.end('not found\n')
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `http://${host}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
