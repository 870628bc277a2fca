/**
 * node-datachannel's ICE UDP mux, bound on loopback: the one socket every
 * server-side PeerConnection of a listener shares. The public port is not
 * handed to node-datachannel (QUIC owns it too); instead each remote peer
 * reaches this mux through its own loopback relay socket, so the mux tells
 * peers apart by source address as it would on a public port.
 *
 * This file opens and stops the mux; it does not create peers or relays.
 */
import dgram from 'node:dgram'
import type { IceUdpMuxListener } from 'node-datachannel'
import type { NodeDataChannel } from './native.js'

/** The mux only ever listens on IPv4 loopback; relays talk to it from there. */
export const LOOPBACK = '127.0.0.1'

/** Ports that were free a moment ago can be taken before the mux binds them. */
const BIND_ATTEMPTS = 8

export interface IceMux {
  readonly port: number
  stop(): void
}

/**
 * Opens a mux on a free loopback port. node-datachannel cannot bind port 0
 * and report the result (its listener answers 0), so a free port is found
 * with a throwaway socket first and the bind retried if it was taken since.
 */
export async function openIceMux(native: NodeDataChannel): Promise<IceMux> {
  let lastError: unknown
  for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
    const port = await freeLoopbackPort()
    let listener: IceUdpMuxListener
    try {
      listener = new native.IceUdpMuxListener(port, LOOPBACK)
    } catch (error) {
      lastError = error
      continue
    }
    let stopped = false
    return {
      port,
      stop() {
        if (stopped) return
        stopped = true
        listener.stop()
      },
    }
  }
  throw new Error(`cannot open the WebRTC ICE mux on ${LOOPBACK}: ${String(lastError)}`, { cause: lastError })
}

async function freeLoopbackPort(): Promise<number> {
  const socket = dgram.createSocket('udp4')
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject)
      socket.bind(0, LOOPBACK, () => resolve())
    })
    return socket.address().port
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()))
  }
}
