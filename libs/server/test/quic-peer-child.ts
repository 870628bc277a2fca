/**
 * A listener in its own process, for tests that need a peer to vanish
 * without sending anything (SIGKILL). Not a test file: the QUIC tests fork
 * the compiled form of it. It echoes every stream, prints its address as
 * one line on stdout, and exits when its parent disconnects.
 */
import { listen } from '@keypin/server'

const listener = await listen({ host: '127.0.0.1' })
void (async () => {
  for await (const conn of listener) {
    void (async () => {
      try {
        for await (const stream of conn.incomingStreams()) stream.readable.pipeTo(stream.writable).catch(() => {})
      } catch {
        // The connection ended.
      }
    })()
  }
})()
process.stdout.write(`${listener.address}\n`)
process.on('disconnect', () => process.exit(0))
