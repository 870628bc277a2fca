/**
 * dial() over QUIC: one UDP socket per connection, connected to the server so
 * the kernel drops datagrams from anyone else, and a pin check on the
 * server's certificate before the connection is handed to the caller.
 */
import dgram from 'node:dgram'
import { randomBytes } from 'node:crypto'
import { KeypinError, parseAddress, type Connection } from '@keypin/core'
import { QuicConnectionDriver, clientConfig, quiche, resolveQuicOptions, type QuicOptions } from '@keypin/quic'

export interface DialOptions extends QuicOptions {
  /** Aborting before the handshake completes cancels the dial (the promise rejects with the signal's reason). */
  signal?: AbortSignal
}

const CLIENT_CID_LENGTH = 16

/**
 * Dials `<ip>:<port>:<certhash>` over QUIC. Resolves once the TLS handshake
 * has completed and the server's certificate hashes to the certhash; rejects
 * with a `pin-mismatch` KeypinError otherwise, `timeout` when the handshake
 * does not finish within `handshakeTimeout`.
 *
 * @example
 * const conn = await dial('127.0.0.1:4242:uEi...', { signal: AbortSignal.timeout(5000) })
 * const stream = await conn.openStream()
 */
export async function dial(address: string, options: DialOptions = {}): Promise<Connection> {
  const target = parseAddress(address)
  const resolved = resolveQuicOptions(options)
  const { signal } = options
  signal?.throwIfAborted()

  const socket = dgram.createSocket({ type: target.family === 6 ? 'udp6' : 'udp4' })
  const socketError = new Promise<never>((_, reject) => {
    socket.once('error', (error) => reject(new KeypinError('network-error', `UDP socket error: ${error.message}`, { cause: error })))
  })
  socketError.catch(() => {})
  await Promise.race([new Promise<void>((resolve) => socket.connect(target.port, target.host, resolve)), socketError])

  const local = socket.address()
  const remote = { host: target.host, port: target.port }
  const conn = quiche.Connection.connect(
    null,
    randomBytes(CLIENT_CID_LENGTH),
    { host: local.address, port: local.port },
    remote,
    clientConfig(resolved),
  )
  const driver = new QuicConnectionDriver({
    role: 'client',
    conn,
    local: { host: local.address, port: local.port },
    remote,
    options: resolved,
    pin: target.digest,
    send: (packet) => socket.send(packet, sendFailed),
    onDone: () => socket.close(),
  })
  socket.on('message', (packet, from) => driver.receive(packet, from.address, from.port))
  socket.on('error', (error) => {
    driver.destroy(new KeypinError('network-error', `UDP socket error: ${error.message}`, { cause: error }))
  })
  driver.flush()

  const onAbort = (): void => {
    void driver.connection.close({ code: 'cancelled', message: 'dial aborted' })
  }
  signal?.addEventListener('abort', onAbort, { once: true })
  try {
    return await driver.established
  } catch (error) {
    if (signal?.aborted) throw signal.reason
    throw error
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
}

/** Send errors (e.g. ICMP unreachable surfacing as ECONNREFUSED) are packet loss to QUIC. */
function sendFailed(): void {}
