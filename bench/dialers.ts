/**
 * Client glue, one dialer per implementation: each connects to a server child
 * and hands back the same small ClientConn interface the measurements use.
 */
import { QUICClient } from '@matrixai/quic'
import { dial } from '@keypin/quic-client'
import { baselineClientCrypto, baselineConfig, baselineStreamHalves, silentLogger } from './common.js'
import type { ServerChild } from './server-child.js'

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
