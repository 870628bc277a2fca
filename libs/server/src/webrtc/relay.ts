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
  readonly #muxPort: number
  /** The relay's own loopback port: what node-datachannel sees as the peer's. */
  readonly port: number
  #open = true

  private constructor(socket: dgram.Socket, muxPort: number, fromMux: (packet: Buffer) => void) {
    this.#socket = socket
    this.#muxPort = muxPort
    this.port = socket.address().port
    socket.on('message', (packet, from) => {
      // Anything on this machine can send to a loopback port; only the mux
      // speaks for the server.
      if (from.port !== muxPort || from.address !== LOOPBACK) return
      fromMux(packet)
    })
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
        socket.off('error', onError)
        resolve()
      })
    })
    return new LoopbackRelay(socket, muxPort, fromMux)
  }

  /** Passes one datagram from the remote peer to the mux. */
  toMux(packet: Uint8Array): void {
    if (this.#open) this.#socket.send(packet, this.#muxPort, LOOPBACK, ignoreSendError)
  }

  close(): void {
    if (!this.#open) return
    this.#open = false
    this.#socket.close()
  }
}

function ignoreSendError(): void {}
