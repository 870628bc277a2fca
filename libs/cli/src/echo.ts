/**
 * The echo service behind `keypin serve --echo`: every stream a peer opens
 * gets its own bytes back followed by EOF, every datagram is sent back. One
 * line per connection goes to `log` when it arrives and when it ends.
 */
import type { Connection, Listener } from '@keypin/core'

/** Serves every connection `listener` accepts; resolves when the listener closes. */
export async function runEcho(listener: Listener, log: (line: string) => void): Promise<void> {
  for await (const connection of listener) void echoConnection(connection, log)
}

async function echoConnection(connection: Connection, log: (line: string) => void): Promise<void> {
  const peer = `${connection.remoteAddress.host}:${connection.remoteAddress.port}`
  log(`+ ${peer} ${connection.transport}`)
  void echoDatagrams(connection)
  try {
    for await (const stream of connection.incomingStreams()) {
      // pipeTo ends the write half once the peer's EOF arrives: echo, then EOF.
      stream.readable.pipeTo(stream.writable).catch(() => {})
    }
  } catch {
    // The connection ended; `closed` below says how.
  }
  const info = await connection.closed
  log(`- ${peer} ${info.code}${info.message ? ` (${info.message})` : ''}`)
}

async function echoDatagrams(connection: Connection): Promise<void> {
  try {
    for await (const datagram of connection.datagrams.incoming) {
      await connection.datagrams.send(datagram).catch(() => {})
    }
  } catch {
    // The connection ended.
  }
}
