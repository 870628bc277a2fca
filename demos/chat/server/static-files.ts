/**
 * Serves the built page (Vite's output) read-only: GET and HEAD of files
 * under one directory, `/` as index.html, nothing outside the directory.
 * Hashed assets are cached for good; index.html is revalidated each time.
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, resolve, sep } from 'node:path'

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
}

/**
 * The page needs only its own scripts and styles; WebRTC is not subject to
 * connect-src, and nothing is loaded from anywhere else.
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
}

export type StaticHandler = (request: IncomingMessage, response: ServerResponse) => Promise<void>

export function staticFiles(directory: string): StaticHandler {
  const root = resolve(directory)
  return async (request, response) => {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return plain(response, 405, 'method not allowed\n', { allow: 'GET, HEAD' })
    }
    const file = fileFor(root, request.url ?? '/')
    if (file === undefined) return plain(response, 404, 'not found\n')
    const info = await stat(file).catch(() => undefined)
    if (!info?.isFile()) {
      if (file === join(root, 'index.html')) {
        return plain(response, 503, 'the chat page is not built yet: run `npm run build` at the repository root\n')
      }
      return plain(response, 404, 'not found\n')
    }
    const immutable = file.startsWith(join(root, 'assets') + sep)
    response.writeHead(200, {
      ...PAGE_HEADERS,
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': info.size,
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    })
    if (request.method === 'HEAD') return void response.end()
    await new Promise<void>((done) => {
      const stream = createReadStream(file)
      stream.on('error', () => {
        response.destroy()
        done()
      })
      stream.on('end', done)
      stream.pipe(response)
    })
  }
}

/** Maps a request target to a file under `root`, or undefined when it is malformed or escapes the root. */
function fileFor(root: string, target: string): string | undefined {
  let path: string
  try {
    path = decodeURIComponent(new URL(target, 'http://localhost').pathname)
  } catch {
    return undefined
  }
  if (path.includes('\0')) return undefined
  if (path.endsWith('/')) path += 'index.html'
  const file = resolve(root, '.' + path)
  return file.startsWith(root + sep) ? file : undefined
}

export function plain(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
    ...headers,
  })
  response.end(text)
}
