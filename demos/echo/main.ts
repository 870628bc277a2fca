/**
 * The echo demo: a Keypin listener that echoes every stream and datagram.
 * Its identity lives in .keypin/echo-identity.pem, so the address it prints
 * stays the same across restarts.
 *
 *   npm start                      # listen on 127.0.0.1:4242
 *   npm start -- --host :: --port 5000
 */
import { parseArgs } from 'node:util'
import { listen, type Connection } from '@keypin/server'

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '4242' },
    identity: { type: 'string', default: '.keypin/echo-identity.pem' },
  },
})

const listener = await listen({ host: values.host, port: Number(values.port), identityFile: values.identity })
console.log('Keypin echo listener')
console.log(`  address:  ${listener.address}`)
console.log(`  dial it:  npm run dial -- ${listener.address}`)
console.log('  (type lines; they come back. Ctrl-C here stops the listener.)')

process.once('SIGINT', () => {
  console.log('\nclosing…')
  void listener.close().then(() => process.exit(0))
})

for await (const connection of listener) void serve(connection)

async function serve(connection: Connection): Promise<void> {
  const peer = `${connection.remoteAddress.host}:${connection.remoteAddress.port}`
  console.log(`+ ${peer} (${connection.transport})`)
  void echoDatagrams(connection)
  try {
    for await (const stream of connection.incomingStreams()) {
      stream.readable.pipeTo(stream.writable).catch(() => {})
    }
  } finally {
    const info = await connection.closed
    console.log(`- ${peer} (${info.code}${info.message ? `: ${info.message}` : ''})`)
  }
}

async function echoDatagrams(connection: Connection): Promise<void> {
  for await (const datagram of connection.datagrams.incoming) {
    await connection.datagrams.send(datagram).catch(() => {})
  }
}
