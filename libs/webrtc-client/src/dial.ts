/**
 * dial() over WebRTC, with no signalling server: the dialer makes its real
 * offer, writes the server's answer itself from the address (ICE-lite, one
 * host candidate, the pinned digest as the DTLS fingerprint), and lets DTLS
 * enforce the pin. Browser-safe; the RTCPeerConnection implementation is
 * injected (the browser's own, or node-datachannel's polyfill in Node).
 */
import {
  KeypinError,
  classicCredentials,
  noMungeServerCredentials,
  parseAddress,
  readIceCredentials,
  rewriteIceCredentials,
  synthesizeAnswer,
  type Connection,
  type IceCredentials,
} from '@keypin/core'
import { connectOverWebRtc } from '@keypin/core/webrtc'
import { W3cChannel, W3cPeer } from './w3c-peer.js'

/**
 * - `no-munge` (the default, `auto`): the offer is used as generated; the
 *   server derives everything from the dialer's own ICE password. Required by
 *   browsers that forbid rewriting the local description.
 * - `classic`: the dialer rewrites its offer to a random ufrag and the derived
 *   password, as every KPS server understands.
 */
export type HandshakeMode = 'auto' | 'no-munge' | 'classic'

export interface DialOptions {
  signal?: AbortSignal
  handshake?: HandshakeMode
  /** Give up when the peer connection is not up after this long (ms). Default 10 000. */
  handshakeTimeout?: number
  /**
   * End the connection with `timeout` after this long without anything from
   * the server (ms). Default 30 000; 0 turns it off. Applies once the server
   * has shown that it sends keep-alives (Keypin servers do).
   */
  idleTimeout?: number
  /** Keep-alive interval (ms): MAX_DATA re-sent on the control channel. Default 10 000; 0 sends none. */
  keepAliveInterval?: number
}

export type RTCPeerConnectionConstructor = new (config?: RTCConfiguration) => RTCPeerConnection

export async function dialWith(
  PeerConnection: RTCPeerConnectionConstructor,
  address: string,
  options: DialOptions = {},
): Promise<Connection> {
  const target = parseAddress(address)
  const mode = options.handshake ?? 'auto'
  if (mode !== 'auto' && mode !== 'no-munge' && mode !== 'classic') {
    throw new KeypinError('invalid-argument', `handshake must be 'auto', 'no-munge' or 'classic', got ${String(mode)}`)
  }
  const timeout = options.handshakeTimeout ?? 10_000
  const { signal } = options
  signal?.throwIfAborted()

  const pc = new PeerConnection({ iceServers: [] })
  // The reserved channels exist before the offer so that it carries SCTP,
  // and are wrapped at once so no early message (the server's HELLO) is lost.
  const precreated = new Map<number, W3cChannel>([
    [0, new W3cChannel(pc.createDataChannel('', { negotiated: true, id: 0 }))],
    [1, new W3cChannel(pc.createDataChannel('', { negotiated: true, id: 1, ordered: false, maxRetransmits: 0 }))],
  ])
  const abort = new AbortController()
  const onAbort = (): void => abort.abort(signal?.reason)
  signal?.addEventListener('abort', onAbort, { once: true })
  const timer = setTimeout(() => {
    // A server stays silent to a dialer whose ICE credentials were not derived
    // from its certhash, so a wrong certhash looks exactly like no server.
    const why = pc.iceConnectionState === 'checking' || pc.iceConnectionState === 'new'
      ? 'no answer: the server is unreachable or the certhash is wrong'
      : `stuck in ICE state ${pc.iceConnectionState}`
    abort.abort(new KeypinError('timeout', `the WebRTC handshake with ${address} did not complete within ${timeout} ms (${why})`))
  }, timeout)
  try {
    const offer = await pc.createOffer()
    let sdp = offer.sdp ?? ''
    let server: IceCredentials
    if (mode === 'classic') {
      server = classicCredentials(target.digest)
      sdp = rewriteIceCredentials(sdp, server.ufrag, server.pwd)
    } else {
      server = noMungeServerCredentials(target.digest, readIceCredentials(sdp).pwd)
    }
    await pc.setLocalDescription({ type: 'offer', sdp })
    await pc.setRemoteDescription({
      type: 'answer',
      sdp: synthesizeAnswer({ host: target.host, port: target.port, family: target.family, digest: target.digest, ...server }),
    })
    await connected(pc, abort.signal)
    const peer = new W3cPeer(pc, { host: target.host, port: target.port }, precreated)
    return await connectOverWebRtc(peer, {
      signal: abort.signal,
      idleTimeout: options.idleTimeout,
      keepAliveInterval: options.keepAliveInterval,
    })
  } catch (error) {
    pc.close()
    throw abort.signal.aborted ? abort.signal.reason : error
  } finally {
    clearTimeout(timer)
    signal?.removeEventListener('abort', onAbort)
  }
}

/**
 * Resolves when DTLS is up. ICE reaching "connected" and the connection then
 * failing means DTLS refused the server's certificate: the pin did not match.
 */
function connected(pc: RTCPeerConnection, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let iceUp = false
    const check = (): void => {
      if (pc.iceConnectionState === 'connected' || pc.iceConnectionState === 'completed') iceUp = true
      if (pc.connectionState === 'connected') finish()
      else if (pc.connectionState === 'failed' || pc.connectionState === 'closed') {
        finish(
          iceUp
            ? new KeypinError('pin-mismatch', 'the DTLS handshake failed: the server certificate does not match the certhash')
            : new KeypinError('network-error', 'ICE failed: the server did not answer connectivity checks'),
        )
      }
    }
    const finish = (error?: KeypinError): void => {
      pc.removeEventListener('connectionstatechange', check)
      pc.removeEventListener('iceconnectionstatechange', check)
      signal.removeEventListener('abort', onAbort)
      if (error) reject(error)
      else resolve()
    }
    const onAbort = (): void => finish(signal.reason as KeypinError)
    if (signal.aborted) return onAbort()
    pc.addEventListener('connectionstatechange', check)
    pc.addEventListener('iceconnectionstatechange', check)
    signal.addEventListener('abort', onAbort, { once: true })
    check()
  })
}
