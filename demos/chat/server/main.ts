/**
 * Starts the chat demo: the relay on one UDP port and the page on one HTTP
 * port, then prints where to find both.
 *
 *   npm start                                   # relay 127.0.0.1:4242, page http://127.0.0.1:8080
 *   npm start -- --port 0 --http-port 0         # any free ports
 *
 * Started with an IPC channel (child_process.fork), it also reports
 * `{ type: 'ready', ... }` with the real addresses and ports, and shuts
 * down when the parent goes away.
 */
import { startChatServer, type ChatServer } from './chat-server.js'
import { USAGE, UsageError, parseOptions } from './options.js'

/** What a parent process receives over IPC once the server is up. */
export interface ReadyMessage {
  type: 'ready'
  pageUrl: string
  httpUrl: string
  relayAddress: string
  relayPort: number
  httpPort: number
}

let options
try {
  options = parseOptions(process.argv.slice(2), process.env)
} catch (error) {
  if (!(error instanceof UsageError)) throw error
  console.error(`${error.message}\n\n${USAGE}`)
  process.exit(2)
}
if (options === 'help') {
  console.log(USAGE)
  process.exit(0)
}

let server: ChatServer
try {
  server = await startChatServer(options)
} catch (error) {
  const code = (error as { code?: unknown }).code
  console.error(`the chat server could not start: ${typeof code === 'string' ? `${code}: ` : ''}${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
}

console.log('Keypin chat')
console.log(`  page:     ${server.pageUrl}`)
console.log(`  relay:    ${server.relayAddress}   (Node and CLI clients dial this address)`)
console.log(`  metrics:  ${server.httpUrl}/metrics`)
console.log(`  health:   ${server.httpUrl}/health`)
console.log('  (Ctrl-C stops the server.)')

const ready: ReadyMessage = {
  type: 'ready',
  pageUrl: server.pageUrl,
  httpUrl: server.httpUrl,
  relayAddress: server.relayAddress,
  relayPort: server.relayPort,
  httpPort: server.httpPort,
}
process.send?.(ready)

let stopping = false
function shutdown(why: string): void {
  if (stopping) {
    console.error('stopping at once')
    process.exit(1)
  }
  stopping = true
  console.log(`\n${why}: closing…`)
  // A close that hangs must not keep the process alive for ever.
  setTimeout(() => {
    console.error('closing took too long; exiting')
    process.exit(1)
  }, 10_000).unref()
  server.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error('close failed:', error)
      process.exit(1)
    },
  )
}
process.on('SIGINT', () => shutdown('SIGINT'))
process.on('SIGTERM', () => shutdown('SIGTERM'))
if (process.send) process.on('disconnect', () => shutdown('parent process gone'))
