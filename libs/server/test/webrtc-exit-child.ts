/**
 * A process that serves one WebRTC dial, closes everything and is then
 * expected to exit by itself: node-datachannel's threads keep Node alive
 * until its process-wide cleanup runs, which the listener's close must do
 * once it is the last user. Not a test file: webrtc-close.test.ts forks the
 * compiled form and fails if this process has to be killed.
 */
import { listen } from '@keypin/server'
import { dialKeypin, releaseDialers } from './webrtc-dialer.js'

const listener = await listen({ host: '127.0.0.1' })
const serving = (async () => {
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

const conn = await dialKeypin(listener.address, 'no-munge')
const stream = await conn.openStream()
const writer = stream.writable.getWriter()
await writer.write(new TextEncoder().encode('ping'))
await writer.close()
let echoed = ''
for await (const chunk of stream.readable) echoed += new TextDecoder().decode(chunk)
process.stdout.write(`echoed ${echoed}\n`)

await conn.close()
// This file's dialers give back their share first, so the listener is the last user.
await releaseDialers()
await listener.close()
await serving
process.stdout.write(`closed ${JSON.stringify(listener.stats)}\n`)
// No process.exit(): the parent checks that nothing keeps Node alive.
