/**
 * A relay in its own process, for tests that kill it (SIGKILL) or inspect
 * its memory. Not a test file: the tests fork its compiled form.
 *
 *   node relay-child.js <database file> <identity file> <port> [limits as JSON]
 *
 * Prints the listener's address as one line on stdout; logs go to stderr
 * (the relay's default JSON lines). Over IPC it answers { cmd: 'stats' }
 * with the relay's stats, { cmd: 'cpu' } with process.cpuUsage(), { cmd: 'metrics' } with its Prometheus text, and { cmd: 'heap', file } by writing a heap
 * snapshot there. Exits when its parent disconnects.
 */
import { writeHeapSnapshot } from 'node:v8'
import { listen } from '@keypin/server'
import { startRelay } from '@keypin/relay/server'

const [databasePath, identityFile, port, limits] = process.argv.slice(2)
if (!databasePath || !identityFile || port === undefined) {
  process.stderr.write('usage: relay-child <database> <identity file> <port>\n')
  process.exit(2)
}

const listener = await listen({ host: '127.0.0.1', port: Number(port), identityFile, webrtc: false })
const relay = startRelay({ listener, databasePath, ...(limits ? { limits: JSON.parse(limits) as object } : {}) })
process.stdout.write(`${listener.address}\n`)

process.on('message', (message: { cmd?: string; file?: string }) => {
  if (message.cmd === 'stats') process.send?.({ stats: relay.stats })
  if (message.cmd === 'cpu') process.send?.({ cpu: process.cpuUsage() })
  if (message.cmd === 'metrics') void relay.metrics.metrics().then((text) => process.send?.({ metrics: text }))
  if (message.cmd === 'heap' && message.file) {
    writeHeapSnapshot(message.file)
    process.send?.({ heap: message.file })
  }
})
process.on('disconnect', () => {
  void relay.close().then(() => listener.close()).finally(() => process.exit(0))
})
