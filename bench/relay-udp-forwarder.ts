/**
 * The relay bench's ceiling: a raw-UDP forwarder. No QUIC, no encryption,
 * no congestion control, no acknowledgements, no retransmission: one
 * `node:dgram` socket and a table of client ports. It measures what moving
 * a message between two clients through one Node process costs on this
 * machine, the floor under the QUIC forwarder (relay-forwarder.ts) and the
 * relay.
 *
 * Wire (one datagram per message, no length prefix):
 *   client → forwarder, hello: u32 client index (exactly 4 bytes); echoed
 *     back, so the client knows it is registered (it repeats until then)
 *   client → forwarder: u32 recipient index, then the message bytes
 *   forwarder → client: u32 sender index, then the message bytes
 * A datagram from a port that sent no hello, or for an index nobody has
 * claimed, is dropped and counted. A datagram the kernel drops is simply
 * never delivered: the load counts it as not arrived.
 */
import { createSocket, type RemoteInfo } from 'node:dgram'
import type { Forwarder, ForwarderStats } from './relay-forwarder.js'
import { UDP_SOCKET_BUFFER_BYTES } from './relay-params.js'

export interface UdpForwarder extends Forwarder {
  /** `127.0.0.1:<port>`, for the clients. */
  readonly address: string
}

const HELLO_BYTES = 4

/** Binds 127.0.0.1 on an ephemeral port; `onError` gets socket errors (a failed send), which are otherwise silent. */
export async function startUdpForwarder(onError: (error: unknown) => void): Promise<UdpForwarder> {
  // The same kernel buffers Keypin's QUIC sockets ask for, so that a burst overflows neither more nor less readily.
  const socket = createSocket({ type: 'udp4', recvBufferSize: UDP_SOCKET_BUFFER_BYTES, sendBufferSize: UDP_SOCKET_BUFFER_BYTES })
  const stats: ForwarderStats = { forwarded: 0, unroutable: 0 }
  /** Every client binds 127.0.0.1, so its port alone names it. */
  const indexByPort = new Map<number, number>()
  const portByIndex = new Map<number, number>()

  socket.on('message', (message: Buffer, from: RemoteInfo) => {
    if (message.byteLength === HELLO_BYTES) {
      const index = message.readUInt32BE(0)
      indexByPort.set(from.port, index)
      portByIndex.set(index, from.port)
      socket.send(message, from.port, from.address)
      return
    }
    const sender = indexByPort.get(from.port)
    const port = message.byteLength > HELLO_BYTES ? portByIndex.get(message.readUInt32BE(0)) : undefined
    if (sender === undefined || port === undefined) {
      stats.unroutable++
      return
    }
    // The datagram is ours: the sender's index goes where the recipient's was, and the same bytes go out.
    message.writeUInt32BE(sender, 0)
    socket.send(message, port, from.address)
    stats.forwarded++
  })
  socket.on('error', onError)

  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject)
      resolve()
    })
  })
  return {
    address: `127.0.0.1:${socket.address().port}`,
    stats,
    close: () => {
      try {
        socket.close()
      } catch {
        // Already closed.
      }
    },
  }
}
