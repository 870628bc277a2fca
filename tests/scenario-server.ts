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
 *   M  meet: the rest, up to EOF, is "<meeting> <parties>"; the stream is
 *      held until `parties` streams from distinct connections wait on the
 *      same meeting, then each gets "go " and the transports of all
 *      parties (e.g. "go quic webrtc"), then EOF; "timeout ..." after
 *      MEET_TIMEOUT_MS
 * Datagrams are echoed.
 */
import { listen, type Connection, type KeypinListener, type ListenOptions, type Stream } from '@keypin/server'

export const SLOW_MS = 1500
export const MEET_TIMEOUT_MS = 20_000

export interface ScenarioServer {
  listener: KeypinListener
  connections: Connection[]
  /** Meetings that completed: meeting name to the transports of its parties, sorted. */
  meetings: Map<string, string[]>
  /**
   * Runs when a meeting is complete, before its parties are released, so
   * whatever it checks happens while every party is connected.
   */
  onMeeting?: (meeting: string, transports: string[]) => void | Promise<void>
  close(): Promise<void>
}

interface Waiting {
  connection: Connection
  release(reply: string): void
}

export async function startScenarioServer(options: ListenOptions = {}): Promise<ScenarioServer> {
  const listener = await listen({ host: '127.0.0.1', ...options })
  const connections: Connection[] = []
  const server: ScenarioServer = { listener, connections, meetings: new Map(), close: () => listener.close() }
  const waiting = new Map<string, Waiting[]>()
  const meet = (connection: Connection, meeting: string, parties: number): Promise<string> =>
    new Promise<string>((resolve) => {
      const present = waiting.get(meeting) ?? []
      waiting.set(meeting, present)
      const timer = setTimeout(() => {
        waiting.delete(meeting)
        for (const party of present) party.release(`timeout: ${present.length} of ${parties} parties came within ${MEET_TIMEOUT_MS} ms`)
      }, MEET_TIMEOUT_MS)
      present.push({ connection, release: (reply) => (clearTimeout(timer), resolve(reply)) })
      const distinct = new Set(present.map((party) => party.connection))
      if (distinct.size < parties) return
      waiting.delete(meeting)
      const transports = present.map((party) => party.connection.transport as string).sort()
      server.meetings.set(meeting, transports)
      void (async () => {
        try {
          await server.onMeeting?.(meeting, transports)
        } catch {
          // The hook records its own findings; the meeting goes on.
        }
        for (const party of present) party.release(`go ${transports.join(' ')}`)
      })()
    })
  void (async () => {
    for await (const connection of listener) {
      connections.push(connection)
      void serveConnection(connection, meet)
    }
  })()
  return server
}

type Meet = (connection: Connection, meeting: string, parties: number) => Promise<string>

async function serveConnection(connection: Connection, meet: Meet): Promise<void> {
  void (async () => {
    try {
      for await (const datagram of connection.datagrams.incoming) await connection.datagrams.send(datagram)
    } catch {
      // The connection ended.
    }
  })()
  try {
    for await (const stream of connection.incomingStreams()) void serveStream(connection, stream, meet).catch(() => {})
  } catch {
    // The connection ended.
  }
}

async function serveStream(connection: Connection, stream: Stream, meet: Meet): Promise<void> {
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
    case 'M': {
      let text = new TextDecoder().decode(rest)
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        text += new TextDecoder().decode(value)
      }
      const [meeting = '', parties = ''] = text.split(' ')
      const reply = await meet(connection, meeting, Number(parties) || 1)
      await writer.write(new TextEncoder().encode(reply))
      await writer.close()
      return
    }
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
