/**
 * connectOverWebRtc: turns a peer connection into a Keypin connection. The
 * same call serves the dialer and the server; the protocol is symmetric once
 * the peer connection exists. Signalling, ICE and DTLS (and pinning the
 * server's certificate) happen before and outside this call.
 */
import type { KeypinConnection } from '../engine/connection.js'
import { WebRtcConnectionDriver } from './connection-driver.js'
import { resolveWebRtcOptions, type WebRtcConnectOptions } from './options.js'
import type { RtcPeer } from './peer.js'

/**
 * Runs the HELLO exchange over `peer` and resolves with the connection once
 * both HELLOs have been seen.
 *
 * Call it right after creating the peer connection, before its SCTP
 * association is up (creating the data channels first is fine, and is what
 * this call does): it creates the reserved negotiated channels 0 and 1, and
 * a message the peer sends on a stream id that has no channel yet is dropped
 * and that stream reset (libdatachannel and browsers both do so), which
 * would lose the peer's HELLO. Channels created before SCTP is up open with
 * it; streams the peer opens meanwhile wait until the exchange completes.
 *
 * From this call on the connection owns `peer`: it closes it when the
 * connection ends, fails, times out (`helloTimeout`, error `timeout`) or is
 * aborted (rejects with the signal's reason).
 */
export async function connectOverWebRtc(peer: RtcPeer, options: WebRtcConnectOptions = {}): Promise<KeypinConnection> {
  const signal = options.signal
  let resolved
  try {
    resolved = resolveWebRtcOptions(options)
    signal?.throwIfAborted()
  } catch (error) {
    peer.close()
    throw error
  }
  const driver = new WebRtcConnectionDriver(peer, resolved)
  if (!signal) return driver.established
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      // Reject first: the race must settle with the signal's reason, not
      // with the driver's own error that abort() produces.
      reject(signal.reason)
      driver.abort(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([driver.established, aborted])
  } finally {
    if (onAbort) signal.removeEventListener('abort', onAbort)
  }
}
