/**
 * The load generator's client for the raw-UDP ceiling (relay-udp-forwarder.ts):
 * one `node:dgram` socket bound to 127.0.0.1 and connected to the
 * forwarder, one datagram per message. The message is the QUIC forwarder
 * client's frame payload (relay-clients.ts) without the length prefix, so
 * the load (relay-load.ts) sees the same sizes, ids and `delivered` calls.
 *
 * Each message is its own datagram, sent at once by its own send(): the
 * QUIC clients join a turn's frames into one stream write, but several
 * messages in one datagram would be a batching protocol, not the floor
 * under one message's trip, and Node has no call that sends several
 * datagrams in one system call.
 */
import { createSocket, type Socket } from 'node:dgram'
import { errorText } from './common.js'
import { readIndexedMessage, writeIndexedMessage, type ClientEvents, type LoadClient } from './relay-clients.js'
import { UDP_SOCKET_BUFFER_BYTES } from './relay-params.js'
import { withTimeout } from './timing.js'

const HELLO_BYTES = 4
/** Loopback rarely drops a datagram, but a hello lost to a full buffer would hang set-up: repeat it until echoed. */
const HELLO_REPEAT_MS = 200
const HELLO_LIMIT_MS = 20_000

export class UdpLoadClient implements LoadClient {
  readonly local: number
  readonly address: string
  readonly #socket: Socket
  readonly #events: ClientEvents
  readonly #payloadBytes: number

  private constructor(local: number, index: number, socket: Socket, events: ClientEvents, payloadBytes: number) {
    this.local = local
    this.address = String(index)
    this.#socket = socket
    this.#events = events
    this.#payloadBytes = payloadBytes
  }

  /** Binds, connects to the forwarder at `host:port` and registers `index`; `payloadBytes` is every datagram's size. */
  static async connect(forwarder: string, local: number, index: number, events: ClientEvents, payloadBytes: number): Promise<UdpLoadClient> {
    const cut = forwarder.lastIndexOf(':')
    const host = forwarder.slice(0, cut)
    const port = Number(forwarder.slice(cut + 1))
    const socket = createSocket({ type: 'udp4', recvBufferSize: UDP_SOCKET_BUFFER_BYTES, sendBufferSize: UDP_SOCKET_BUFFER_BYTES })
    // Connected: send() skips the per-datagram address lookup, and only the forwarder's datagrams come in.
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind(0, '127.0.0.1', () =>
        socket.connect(port, host, () => {
          socket.off('error', reject)
          resolve()
        }),
      )
    })
    const client = new UdpLoadClient(local, index, socket, events, payloadBytes)
    const hello = new Uint8Array(HELLO_BYTES)
    new DataView(hello.buffer).setUint32(0, index)
    let repeat: ReturnType<typeof setInterval> | undefined
    try {
      const echoed = new Promise<void>((resolve, reject) => {
        socket.on('message', (message: Buffer) => (message.byteLength === HELLO_BYTES ? resolve() : client.#receive(message)))
        socket.on('error', reject)
      })
      const sayHello = (): void => socket.send(hello)
      sayHello()
      repeat = setInterval(sayHello, HELLO_REPEAT_MS)
      await withTimeout(echoed, HELLO_LIMIT_MS, 'udp hello')
    } catch (error) {
      socket.close()
      throw error
    } finally {
      clearInterval(repeat)
    }
    // From here a socket error (a failed send) is the row's error, not the set-up's.
    socket.removeAllListeners('error')
    socket.on('error', (error) => events.error(`udp: ${errorText(error)}`))
    return client
  }

  send(to: string, id: string): void {
    const datagram = new Uint8Array(this.#payloadBytes)
    writeIndexedMessage(datagram, Number(to), id)
    this.#socket.send(datagram)
  }

  /** One datagram per recipient, as the QUIC forwarder's clients send one frame each. */
  sendMany(to: readonly string[], id: string): void {
    for (const recipient of to) this.send(recipient, id)
  }

  #receive(message: Buffer): void {
    const { peer, id } = readIndexedMessage(message)
    this.#events.delivered(this, String(peer), id)
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      try {
        this.#socket.close(() => resolve())
      } catch {
        resolve() // Already closed.
      }
    })
  }
}
