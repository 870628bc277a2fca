/**
 * `keypin dial`: netcat for a pinned address. One stream; stdin goes into
 * it (its write half ends at end of input) and its bytes go to stdout, both
 * with backpressure. Done when both directions are done; any failure
 * (bad address, wrong certhash, no answer, reset, lost connection) rejects
 * with a KeypinError for main.ts to print.
 */
import { parseArgs } from 'node:util'
import { KeypinError, parseAddress, type Connection, type TransportKind } from '@keypin/core'
import { expectPositionals, parseChoice, parseTimeout, withUsageErrors } from './args.js'
import { EXIT_OK } from './errors.js'
import { writeStdout } from './output.js'

const TRANSPORTS = ['quic', 'webrtc'] as const
const DEFAULT_TIMEOUT_MS = 10_000

export interface DialCommandOptions {
  address: string
  transport: TransportKind
  timeoutMs: number
}

/** Parses `keypin dial` arguments; `undefined` means help was asked for. */
export function parseDialArgs(args: string[]): DialCommandOptions | undefined {
  const { values, positionals } = withUsageErrors('dial', () =>
    parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        transport: { type: 'string' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  )
  if (values.help) return undefined
  const [address] = expectPositionals('dial', positionals, ['ADDRESS']) as [string]
  return {
    address,
    transport: values.transport === undefined ? 'quic' : parseChoice('dial', '--transport', values.transport, TRANSPORTS),
    timeoutMs: values.timeout === undefined ? DEFAULT_TIMEOUT_MS : parseTimeout('dial', values.timeout),
  }
}

/**
 * Dials `address` over `transport`, failing with a `timeout` KeypinError if
 * no pinned connection stands within `timeoutMs`. The address is checked
 * first, so a malformed one fails with `invalid-address` before any packet.
 */
export async function connect(address: string, transport: TransportKind, timeoutMs: number): Promise<Connection> {
  parseAddress(address)
  const deadline = new AbortController()
  const timer = setTimeout(() => {
    const hint = transport === 'webrtc' ? ' (a server stays silent to a wrong certhash)' : ''
    deadline.abort(new KeypinError('timeout', `no pinned ${transport} connection to ${address} within ${timeoutMs} ms${hint}`))
  }, timeoutMs)
  // The transports' own handshake timers must not fire first (nor refuse a short one).
  const options = { signal: deadline.signal, handshakeTimeout: Math.max(timeoutMs, 100) }
  try {
    if (transport === 'webrtc') {
      // Loaded on demand: it brings node-datachannel's native library along.
      const webrtc = await import('@keypin/webrtc-client')
      return await webrtc.dial(address, options)
    }
    const quic = await import('@keypin/quic-client')
    return await quic.dial(address, options)
  } finally {
    clearTimeout(timer)
  }
}

export async function dialCommand(options: DialCommandOptions): Promise<number> {
  const connection = await connect(options.address, options.transport, options.timeoutMs)
  try {
    await pipeThroughStream(connection)
  } finally {
    await connection.close().catch(() => {})
  }
  return EXIT_OK
}

async function pipeThroughStream(connection: Connection): Promise<void> {
  const stream = await connection.openStream()
  const upload = (async () => {
    const writer = stream.writable.getWriter()
    for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
      await writer.write(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
    }
    await writer.close() // closeWrite: the peer reads EOF after our last byte
  })()
  const download = (async () => {
    for await (const chunk of stream.readable) await writeStdout(chunk)
  })()
  // If the connection ends first, whichever direction is still waiting (on
  // stdin, say) will never finish on its own.
  let finished = false
  const lost = connection.closed.then((info) => {
    if (!finished) throw info.error
  })
  try {
    await Promise.race([Promise.all([upload, download]), lost])
  } finally {
    finished = true
    upload.catch(() => {})
    download.catch(() => {})
    lost.catch(() => {})
  }
}
