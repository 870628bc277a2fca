/**
 * Client glue, one dialer per implementation: each connects to a server child
 * and hands back the same small ClientConn interface the measurements use.
 */
import { QUICClient } from '@matrixai/quic'
import { dial } from '@keypin/quic-client'
import { dial as dialWebRtc } from '@keypin/webrtc-client'
import { PeerConnection, type DataChannel, type DescriptionType } from 'node-datachannel'
import { baselineClientCrypto, baselineConfig, baselineStreamHalves, errorText, silentLogger, type NdcSignal } from './common.js'
import { oddities } from './oddities.js'
import type { ServerChild } from './server-child.js'
import { withTimeout } from './timing.js'

export interface ClientStream {
  readable: ReadableStream<Uint8Array>
  writable: WritableStream<Uint8Array>
}

export interface ClientConn {
  openStream(): Promise<ClientStream>
  /** Undefined when the implementation has no datagram API. */
  sendDatagram: ((data: Uint8Array) => Promise<void>) | undefined
  close(): Promise<void>
}

export type Dialer = (server: ServerChild) => Promise<ClientConn>

const DIAL_TIMEOUT_MS = 10_000

export const dialKeypinQuic: Dialer = async (server) => {
  const conn = await dial(server.ready.address, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
  return {
    openStream: () => conn.openStream(),
    sendDatagram: (data) => conn.datagrams.send(data),
    close: () => conn.close(),
  }
}

export const dialMatrixai: Dialer = async (server) => {
  const client = await QUICClient.createQUICClient(
    {
      host: server.ready.host,
      port: server.ready.port,
      localHost: '127.0.0.1',
      crypto: baselineClientCrypto,
      config: baselineConfig(),
      logger: silentLogger(),
    },
    { timer: DIAL_TIMEOUT_MS },
  )
  return {
    openStream: async () => baselineStreamHalves(client.connection.newStream('bidi')),
    // QUICConnection has no datagram API (quiche's is only reachable through a protected field).
    sendDatagram: undefined,
    close: () => client.destroy({ force: true }),
  }
}

/** Keypin over WebRTC from Node (node-datachannel's polyfill) against the same Keypin listener. */
export const dialKeypinWebRtc: Dialer = async (server) => {
  const conn = await dialWebRtc(server.ready.address, { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
  return {
    openStream: () => conn.openStream(),
    sendDatagram: (data) => conn.datagrams.send(data),
    close: () => conn.close(),
  }
}

// ---- ndc-direct and ndc-relayed: two raw node-datachannel peers, the child signalled over IPC ----

/** Stream writes go out as messages of this size (Keypin's WebRTC stream frames are 16384 bytes too). */
const NDC_MESSAGE = 16_384
/** Keep at most this much queued in a channel (bufferedAmount); writes wait below it. */
const NDC_HIGH_WATER = 1024 * 1024
const NDC_LOW_WATER = 256 * 1024

/** node-datachannel aborts the process when a callback throws: every callback goes through this. */
function guard<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  return (...args) => {
    try {
      fn(...args)
    } catch (error) {
      oddities.push(`node-datachannel callback threw in the client: ${errorText(error)}`)
    }
  }
}

/** A channel with backpressure: `drained()` resolves once bufferedAmount is below NDC_HIGH_WATER. */
class NdcChannel {
  readonly dc: DataChannel
  readonly opened: Promise<void>
  #waiters: (() => void)[] = []
  #closed = false
  onMessage: ((msg: string | Buffer | ArrayBuffer) => void) | undefined
  onClosed: (() => void) | undefined

  constructor(dc: DataChannel) {
    this.dc = dc
    dc.setBufferedAmountLowThreshold(NDC_LOW_WATER)
    dc.onBufferedAmountLow(guard(() => this.#wake()))
    dc.onMessage(guard((msg: string | Buffer | ArrayBuffer) => this.onMessage?.(msg)))
    this.opened = new Promise((resolve, reject) => {
      dc.onOpen(guard(() => resolve()))
      dc.onError(guard((err: string) => reject(new Error(`data channel error: ${err}`))))
      dc.onClosed(
        guard(() => {
          this.#closed = true
          this.#wake()
          reject(new Error('data channel closed before it opened'))
          this.onClosed?.()
        }),
      )
    })
    this.opened.catch(() => {})
  }

  #wake(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const wake of waiters) wake()
  }

  async drained(): Promise<void> {
    while (!this.#closed && this.dc.bufferedAmount() >= NDC_HIGH_WATER) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve))
    }
    if (this.#closed) throw new Error('data channel closed')
  }
}

let nextNdcConn = 1

export const dialNdcDirect: Dialer = (server) => dialNdc(server, false)

/** The same pair with the child's JS relay hop in between (the child rewrites its candidates; see ndc-hop.ts). */
export const dialNdcRelayed: Dialer = (server) => dialNdc(server, true)

async function dialNdc(server: ServerChild, viaHop: boolean): Promise<ClientConn> {
  const id = nextNdcConn++
  const pc = new PeerConnection(`bench-client-${id}`, { iceServers: [], bindAddress: '127.0.0.1' })
  const unsubscribe = server.onSignal(
    id,
    guard((signal: NdcSignal) => {
      if (signal.type === 'ndc-description') pc.setRemoteDescription(signal.sdp, signal.sdpType as DescriptionType)
      else if (signal.type === 'ndc-candidate') pc.addRemoteCandidate(signal.candidate, signal.mid)
    }),
  )
  pc.onLocalDescription(guard((sdp: string, type: DescriptionType) => server.signal({ type: 'ndc-description', conn: id, sdp, sdpType: type })))
  pc.onLocalCandidate(guard((candidate: string, mid: string) => server.signal({ type: 'ndc-candidate', conn: id, candidate, mid })))
  let closed = false
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    unsubscribe()
    try {
      server.signal({ type: 'ndc-close', conn: id })
    } catch {
      // The child is gone already.
    }
    pc.close()
  }
  // Creating the first channel makes the offer (auto-negotiation); its opening means the peers are connected.
  const dgram = new NdcChannel(pc.createDataChannel('dgram', { unordered: true, maxRetransmits: 0 }))
  try {
    await withTimeout(dgram.opened, DIAL_TIMEOUT_MS, 'node-datachannel connect')
    if (viaHop) assertThroughHop(pc, server)
  } catch (error) {
    await close()
    throw error
  }
  let nextStream = 0
  return {
    openStream: async () => {
      const channel = new NdcChannel(pc.createDataChannel(`s${nextStream++}`))
      let controller!: ReadableStreamDefaultController<Uint8Array>
      let ended = false
      const readable = new ReadableStream<Uint8Array>({
        start: (c) => {
          controller = c
        },
      })
      // The reply is one binary message; it ends the stream.
      channel.onMessage = (msg) => {
        if (ended || typeof msg === 'string') return
        ended = true
        controller.enqueue(msg instanceof ArrayBuffer ? new Uint8Array(msg) : new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength))
        controller.close()
      }
      channel.onClosed = () => {
        if (ended) return
        ended = true
        controller.error(new Error('data channel closed before the reply'))
      }
      await channel.opened
      const writable = new WritableStream<Uint8Array>({
        write: async (chunk) => {
          for (let offset = 0; offset < chunk.byteLength; offset += NDC_MESSAGE) {
            await channel.drained()
            channel.dc.sendMessageBinary(chunk.subarray(offset, Math.min(chunk.byteLength, offset + NDC_MESSAGE)))
          }
        },
        close: () => {
          channel.dc.sendMessage('fin')
        },
      })
      return { readable, writable }
    },
    sendDatagram: async (data) => {
      await dgram.drained()
      dgram.dc.sendMessageBinary(data)
    },
    close,
  }
}

/** A relayed dial must have connected to the hop's public socket, the only child address it was told. */
function assertThroughHop(pc: PeerConnection, server: ServerChild): void {
  const remote = pc.getSelectedCandidatePair()?.remote
  if (remote?.port !== server.ready.port || remote.address !== server.ready.host) {
    throw new Error(`relayed dial connected to ${remote ? `${remote.address}:${remote.port}` : 'no selected pair'}, not the relay hop at ${server.ready.host}:${server.ready.port}`)
  }
}
