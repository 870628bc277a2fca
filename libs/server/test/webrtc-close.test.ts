/**
 * Closing a listener with WebRTC peers: established connections are told,
 * handshakes in progress are dropped, relays, peer connections, the mux and
 * the DTLS key files are released, and a process with nothing else to do
 * exits by itself.
 */
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { fork } from 'node:child_process'
import { once } from 'node:events'
import { readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { buildBindingRequest, deriveIcePassword, randomIceUfrag } from '@keypin/core'
import { STEP_MS, echoOnce, randomBytes, startServer, udpHandleCount, waitUntil, withTimeout } from './support.js'
import { dialKeypin, releaseDialers } from './webrtc-dialer.js'

after(() => releaseDialers())

async function keyDirectories(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((name) => name.startsWith('keypin-dtls-'))
}

test('listener.close() closes WebRTC connections and handshakes and releases every resource', async (t) => {
  const dirsBefore = await keyDirectories()
  const udpBefore = udpHandleCount()
  const server = await startServer(t)
  const [a, b] = await Promise.all([dialKeypin(server.address, 'no-munge'), dialKeypin(server.address, 'classic')])
  t.after(() => a.close().catch(() => {}))
  t.after(() => b.close().catch(() => {}))
  const data = randomBytes(5000)
  assert.deepEqual(await echoOnce(a, data), data)
  // One handshake left hanging by a peer that went silent.
  const silent = dgram.createSocket('udp4')
  t.after(() => silent.close())
  await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve))
  const ufrag = randomIceUfrag()
  const request = buildBindingRequest({ username: `${ufrag}:${ufrag}`, password: deriveIcePassword(server.listener.identity.digest, ufrag) })
  silent.send(request, server.listener.localAddress.port, '127.0.0.1')
  await waitUntil(
    () => server.listener.stats.webrtcHandshakes === 1 && server.listener.stats.webrtcPeers === 2,
    STEP_MS,
    () => `two peers and a handshake (stats ${JSON.stringify(server.listener.stats)})`,
  )
  assert.equal((await keyDirectories()).length, dirsBefore.length + 1, 'the DTLS identity is on disk while serving')

  await withTimeout(server.listener.close(), 5000, 'the listener closing')
  const stats = server.listener.stats
  assert.equal(stats.webrtcPeers, 0)
  assert.equal(stats.webrtcHandshakes, 0)
  assert.equal(stats.relays, 0)
  const [closedA, closedB] = await withTimeout(Promise.all([a.closed, b.closed]), STEP_MS, 'the dialers seeing the close')
  for (const info of [closedA, closedB]) {
    assert.equal(info.initiator, 'remote')
    assert.equal(info.code, 'closed')
  }
  assert.deepEqual(await keyDirectories(), dirsBefore, 'the DTLS key files are deleted')
  // The listener's socket and every relay are gone; only the silent probe remains.
  assert.equal(udpHandleCount(), udpBefore + 1)
})

test('a process whose listener served WebRTC exits by itself after close()', { timeout: 30_000 }, async () => {
  const child = fork(new URL('./webrtc-exit-child.js', import.meta.url), [], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] })
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  // The IPC channel would keep the child alive; nothing is sent over it.
  child.disconnect()
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  try {
    const [code, signal] = await withTimeout(exited, 20_000, () => `the child exiting by itself (output so far: ${JSON.stringify(output)})`)
    assert.equal(signal, null, `the child died of ${signal} (output: ${JSON.stringify(output)})`)
    assert.equal(code, 0, `exit code (output: ${JSON.stringify(output)})`)
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  assert.match(output, /^echoed ping$/m)
  assert.match(output, /^closed .*"webrtcPeers":0,"webrtcHandshakes":0,"relays":0/m)
})
