/**
 * dial() over QUIC: one UDP socket per connection, connected to the server so
 * the kernel drops datagrams from anyone else, and a pin check on the
 * server's certificate before the connection is handed to the caller.
 */
import dgram from 'node:dgram'
import { randomBytes } from 'node:crypto'
import { KeypinError, parseAddress, type Connection } from '@keypin/core'
import { QuicConnectionDriver, clientConfig, enlargeSocketBuffers, quiche, resolveQuicOptions, type QuicOptions } from '@keypin/quic'

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
  // connect() reports its failure (e.g. EACCES for a broadcast address) to
  // the callback, not as an 'error' event; until the driver owns the socket,
  // any failure must close it here.
  const connected = new Promise<void>((resolve, reject) => {
    socket.connect(target.port, target.host, (error?: Error) => {
      if (error) reject(new KeypinError('network-error', `cannot connect a UDP socket to ${target.host}:${target.port}: ${error.message}`, { cause: error }))
      else resolve()
    })
  })
  try {
    await Promise.race([connected, socketError])
  } catch (error) {
    socket.close()
    throw error
  }

  enlargeSocketBuffers(socket)
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
    // Before the handshake an ICMP error (ECONNREFUSED on a connected socket)
    // means nobody serves that port: fail fast. Afterwards it is treated as
    // packet loss, since anyone can forge one; the idle timeout decides.
    if (!driver.isEstablished) {
      driver.destroy(new KeypinError('network-error', `UDP socket error: ${error.message}`, { cause: error }))
    }
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
