/**
 * The listener child as the hostile suites hold it: one per test file,
 * started before the file's tests and stopped after them, and read for
 * whether it holds nothing at all (no connections, handshakes, WebRTC
 * peers, relay sockets or queued accepts).
 */
import { after, before } from 'node:test'
import { holdNodeDataChannel } from './clients.js'
import { startHelper, type Helper } from './ipc.js'
import type { ListenerReady, ListenerStatus } from './listener-child.js'

/**
 * Runs the listener child (in a process of its own, with `--expose-gc`, so
 * its memory and descriptors can be read) for this test file, with `args`
 * as its listen options. This process holds node-datachannel meanwhile, so
 * a listener closing elsewhere does not run the process-wide cleanup under
 * the file's WebRTC dialers. Returns the running child.
 */
export function listenerForFile(args: unknown): () => Helper<ListenerReady> {
  let listener: Helper<ListenerReady> | undefined
  let releaseNative: (() => void) | undefined
  before(async () => {
    releaseNative = holdNodeDataChannel()
    listener = await startHelper<ListenerReady>({
      script: new URL('./listener-child.js', import.meta.url),
      args,
      execArgv: ['--expose-gc'],
      label: 'listener',
    })
  })
  after(async () => {
    try {
      await listener?.stop()
    } finally {
      releaseNative?.()
    }
  })
  return () => {
    if (!listener) throw new Error('the listener child is not running')
    return listener
  }
}

export function isQuiet(status: ListenerStatus): boolean {
  const { connections, handshakes, webrtcPeers, webrtcHandshakes, relays, backlog } = status.stats
  return status.open === 0 && connections === 0 && handshakes === 0 && webrtcPeers === 0 && webrtcHandshakes === 0 && relays === 0 && backlog === 0
}
