/**
 * One remote WebRTC peer's stand-in on loopback. node-datachannel's ICE mux
 * tells peers apart by source address, but every peer really arrives on the
 * listener's public socket; so each gets a loopback socket of its own:
 * datagrams from the peer are sent from it to the mux, and what the mux
 * sends to it goes out of the public socket to the peer.
 *
 * The relay only moves bytes. It does not inspect them, hold them back or
 * know which peer it stands for; the session that owns it does.
 */
import dgram from 'node:dgram'
import { LOOPBACK } from './ice-mux.js'

export class LoopbackRelay {
  readonly #socket: dgram.Socket
  /** The relay's own loopback port: what node-datachannel sees as the peer's. */
  readonly port: number
  #open = true

  private constructor(socket: dgram.Socket, fromMux: (packet: Buffer) => void) {
    this.#socket = socket
    this.port = socket.address().port
    // The socket is connected to the mux, so the kernel delivers only what
    // the mux sends (anything else on this machine could send to a loopback
    // port) and each send skips the address lookup: measurably cheaper per
    // packet, and every WebRTC packet crosses this socket.
    socket.on('message', (packet) => fromMux(packet))
    // ICMP port-unreachable and the like: packet loss, never fatal.
    socket.on('error', () => {})
  }

  /** Binds a fresh loopback socket that forwards to and from the mux on `muxPort`. */
  static async open(muxPort: number, fromMux: (packet: Buffer) => void): Promise<LoopbackRelay> {
    const socket = dgram.createSocket('udp4')
    await new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        socket.close()
        reject(error)
      }
      socket.once('error', onError)
      socket.bind(0, LOOPBACK, () => {
        socket.connect(muxPort, LOOPBACK, () => {
          socket.off('error', onError)
          resolve()
        })
      })
    })
    return new LoopbackRelay(socket, fromMux)
  }

  /** Passes one datagram from the remote peer to the mux. */
  toMux(packet: Uint8Array): void {
    // No callback: a failed send is packet loss, reported (and ignored) as an 'error' event.
    if (this.#open) this.#socket.send(packet)
  }

  close(): void {
    if (!this.#open) return
    this.#open = false
    this.#socket.close()
  }
}
