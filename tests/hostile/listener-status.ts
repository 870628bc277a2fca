/**
 * Reading the listener child's status: whether it holds nothing at all (no
 * connections, handshakes, WebRTC peers, relay sockets or queued accepts).
 */
import type { ListenerStatus } from './listener-child.js'

export function isQuiet(status: ListenerStatus): boolean {
  const { connections, handshakes, webrtcPeers, webrtcHandshakes, relays, backlog } = status.stats
  return status.open === 0 && connections === 0 && handshakes === 0 && webrtcPeers === 0 && webrtcHandshakes === 0 && relays === 0 && backlog === 0
}
