/**
 * netcat for a pinned address: stdin goes to one stream, the stream comes
 * back on stdout. Exits when the server ends the stream.
 *
 *   npm run dial -- 127.0.0.1:4242:uEi...
 */
import { dial, KeypinError } from '@keypin/quic-client'

const address = process.argv[2]
if (!address) {
  console.error('usage: npm run dial -- <ip>:<port>:<certhash>')
  process.exit(2)
}

try {
  const connection = await dial(address, { signal: AbortSignal.timeout(10_000) })
  const stream = await connection.openStream()
  const writer = stream.writable.getWriter()
  process.stdin.on('data', (chunk: Buffer) => void writer.write(new Uint8Array(chunk)).catch(() => {}))
  process.stdin.on('end', () => void writer.close().catch(() => {}))
  for await (const chunk of stream.readable) process.stdout.write(chunk)
  await connection.close()
  process.exit(0)
} catch (error) {
  const what = error instanceof KeypinError ? `${error.code}: ${error.message}` : String(error)
  console.error(`dial failed: ${what}`)
  process.exit(1)
}
