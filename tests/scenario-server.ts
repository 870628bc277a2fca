/**
 * A listener whose behaviour per stream is chosen by the stream's first byte,
 * so clients of any kind (Chromium, Node over WebRTC, Node over QUIC) can run
 * the same scenarios against one port:
 *   E  echo the rest of the stream, then EOF
 *   R  write "abc", then reset the write half with code 77
 *   C  cancel reading with code `cancelled` at once
 *   S  read nothing for SLOW_MS, then count everything and answer the count
 *   X  close the whole connection with `permission-denied` ("bye")
 *   O  open a stream from the server, write "hello from server", EOF
 * Datagrams are echoed.
 */
import { listen, type Connection, type KeypinListener, type ListenOptions, type Stream } from '@keypin/server'

export const SLOW_MS = 1500

export interface ScenarioServer {
  listener: KeypinListener
  connections: Connection[]
  close(): Promise<void>
}

export async function startScenarioServer(options: ListenOptions = {}): Promise<ScenarioServer> {
  const listener = await listen({ host: '127.0.0.1', ...options })
  const connections: Connection[] = []
  void (async () => {
    for await (const connection of listener) {
      connections.push(connection)
      void serveConnection(connection)
    }
  })()
  return { listener, connections, close: () => listener.close() }
}

async function serveConnection(connection: Connection): Promise<void> {
  void (async () => {
    try {
      for await (const datagram of connection.datagrams.incoming) await connection.datagrams.send(datagram)
    } catch {
      // The connection ended.
    }
  })()
  try {
    for await (const stream of connection.incomingStreams()) void serveStream(connection, stream).catch(() => {})
  } catch {
    // The connection ended.
  }
}

async function serveStream(connection: Connection, stream: Stream): Promise<void> {
  const reader = stream.readable.getReader()
  const first = await reader.read()
  if (first.done || first.value.byteLength === 0) return
  const command = String.fromCharCode(first.value[0] as number)
  const rest = first.value.subarray(1)
  const writer = stream.writable.getWriter()
  switch (command) {
    case 'E': {
      if (rest.byteLength > 0) await writer.write(rest)
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        await writer.write(value)
      }
      await writer.close()
      return
    }
    case 'R':
      await writer.write(new TextEncoder().encode('abc'))
      writer.releaseLock()
      await stream.resetWrite({ code: 77 })
      return
    case 'C':
      reader.releaseLock()
      await stream.cancelRead({ code: 'cancelled' })
      return
    case 'S': {
      await new Promise((resolve) => setTimeout(resolve, SLOW_MS))
      let total = rest.byteLength
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        total += value.byteLength
      }
      await writer.write(new TextEncoder().encode(String(total)))
      await writer.close()
      return
    }
    case 'X':
      await connection.close({ code: 'permission-denied', message: 'bye' })
      return
    case 'O': {
      const opened = await connection.openStream()
      const out = opened.writable.getWriter()
      await out.write(new TextEncoder().encode('hello from server'))
      await out.close()
      await writer.close()
      return
    }
    default:
      await stream.close({ code: 'unsupported' })
  }
}
