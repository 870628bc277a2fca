/**
 * One remote WebRTC peer, from its first authenticated STUN request until
 * its connection ends: the loopback relay that stands for it, the
 * node-datachannel PeerConnection that answers it, and the Keypin
 * connection on top.
 *
 * Two timing fixes live here, both found by measuring (a dial took about
 * half a second out of the box, and now takes a few milliseconds):
 * - the first STUN request is what told us about the peer, so node-
 *   datachannel never saw it; it is passed on once the peer connection's
 *   ICE agent has joined the mux (gathering complete). Sent earlier it is
 *   dropped, and the dialer's retransmission costs tens of milliseconds;
 * - the dialer's DTLS ClientHello can arrive before the server's ICE agent
 *   considers the path usable, and is then dropped until DTLS retransmits
 *   (a second or so). Non-STUN datagrams are held until ICE is connected.
 *
 * This file does not decide who may start a session (the STUN guard and the
 * server's limits do) and does not speak the Keypin protocol (the core
 * adapter does).
 */
import {
  resignStunMessage,
  stunShortTermKey,
  STUN_BINDING_SUCCESS,
  STUN_HEADER_SIZE,
  STUN_MAGIC_COOKIE,
  type HostPort,
  type Reason,
} from '@keypin/core'
import type { KeypinConnection } from '@keypin/core/engine'
import { connectOverWebRtc, type WebRtcConnectOptions } from '@keypin/core/webrtc'
import type { PeerConnection } from 'node-datachannel'
import { LOOPBACK } from './ice-mux.js'
import { guarded, NativePeer } from './native-peer.js'
import { dialerOffer } from './offer.js'
import { LoopbackRelay } from './relay.js'
import type { WebRtcRuntime } from './runtime.js'
import type { AdmittedBinding } from './stun-guard.js'

export interface SessionInit {
  runtime: Promise<WebRtcRuntime>
  /** The peer's public address. */
  remote: HostPort
  admitted: AdmittedBinding
  /** The authenticated Binding request that started the session (a private copy). */
  firstRequest: Uint8Array
  /** Sends to the peer from the listener's public socket. */
  send(packet: Uint8Array): void
  connectOptions: Omit<WebRtcConnectOptions, 'signal'>
  handshakeTimeout: number
  onEstablished(session: WebRtcSession, connection: KeypinConnection): void
  /** Everything of the session is released; it must be forgotten. */
  onEnded(session: WebRtcSession): void
}

/** Datagrams kept while the peer connection is not ready for them; more are dropped. */
const MAX_HELD_DATAGRAMS = 64

/**
 * How long the relay outlives the peer connection, so the last datagrams
 * node-datachannel sent while closing (a DTLS close_notify) still reach the peer.
 */
const RELAY_LINGER_MS = 50

/** Upper bound on waiting for node-datachannel to confirm a close. */
const NATIVE_CLOSE_WAIT_MS = 1000

/** Upper bound on a graceful connection close before the peer connection is cut. */
const CONNECTION_CLOSE_WAIT_MS = 1000

type Phase = 'handshaking' | 'established' | 'ended'

export class WebRtcSession {
  readonly remote: HostPort
  readonly serverUfrag: string
  readonly ended: Promise<void>
  readonly #init: SessionInit
  readonly #abort = new AbortController()
  readonly #timer: ReturnType<typeof setTimeout>
  #closeFallback: ReturnType<typeof setTimeout> | undefined
  readonly #relayOpened: Promise<LoopbackRelay | undefined>
  #resolveEnded: () => void = () => {}
  #phase: Phase = 'handshaking'
  #relay: LoopbackRelay | undefined
  #peer: NativePeer | undefined
  #connection: KeypinConnection | undefined
  #held: Uint8Array[] = []
  /** The ICE agent has joined the mux: STUN can go through. */
  #muxReady = false
  /** The server's ICE agent has a usable path: everything can go through. */
  #iceUp = false
  /** MESSAGE-INTEGRITY key of the server's ICE password, for re-signed responses. */
  readonly #serverKey: Uint8Array

  constructor(init: SessionInit) {
    this.#init = init
    this.remote = { ...init.remote }
    this.serverUfrag = init.admitted.serverUfrag
    this.#serverKey = stunShortTermKey(init.admitted.serverPwd)
    this.ended = new Promise((resolve) => {
      this.#resolveEnded = resolve
    })
    this.#timer = setTimeout(() => this.close({ code: 'timeout', message: 'WebRTC handshake timed out' }), init.handshakeTimeout)
    this.#relayOpened = this.#openRelay()
    void this.#start()
  }

  /** True while the session holds a loopback relay socket. */
  get hasRelay(): boolean {
    return this.#relay !== undefined
  }

  /** The peer connection, once created; the server waits for these to close before releasing node-datachannel. */
  get peer(): NativePeer | undefined {
    return this.#peer
  }

  /** One datagram from the peer's public address. */
  receive(packet: Uint8Array): void {
    if (this.#phase === 'ended') return
    const relay = this.#relay
    if (relay === undefined || !this.#muxReady || (!this.#iceUp && !isStunRange(packet))) {
      if (this.#held.length < MAX_HELD_DATAGRAMS) this.#held.push(packet)
      return
    }
    relay.toMux(packet)
  }

  /**
   * Ends the session: an established connection is closed with `reason`
   * (the peer is told), a handshake is abandoned. Resources are released
   * asynchronously; `ended` settles when they are.
   */
  close(reason?: Reason): void {
    if (this.#phase === 'ended') return
    const connection = this.#connection
    if (connection === undefined) {
      this.#end()
      return
    }
    // The adapter sends CONNECTION_CLOSE, gives SCTP a moment to deliver it
    // and then closes the peer, which ends the session. Its promise may
    // settle before that moment is over, so it is not what ends the session.
    this.#closeFallback ??= setTimeout(() => this.#end(), CONNECTION_CLOSE_WAIT_MS)
    void connection.close(reason).catch(() => {})
  }

  async #openRelay(): Promise<LoopbackRelay | undefined> {
    try {
      const runtime = await this.#init.runtime
      const relay = await LoopbackRelay.open(runtime.mux.port, (packet) => this.#init.send(this.#fromMux(packet)))
      this.#relay = relay
      return relay
    } catch {
      return undefined
    }
  }

  async #start(): Promise<void> {
    const relay = await this.#relayOpened
    if (this.#phase === 'ended') return
    if (relay === undefined) {
      this.#end()
      return
    }
    let connecting: Promise<KeypinConnection>
    try {
      const runtime = await this.#init.runtime
      const pc = new runtime.native.PeerConnection('keypin-server', runtime.peerConfig())
      // The NativePeer owns the other callbacks; this session owns gathering.
      pc.onGatheringStateChange((state) => guarded(() => state === 'complete' && this.#onMuxReady()))
      const peer = new NativePeer(pc, this.remote)
      this.#peer = peer
      peer.onIceState((state) => (state === 'connected' || state === 'completed') && this.#onIceUp())
      peer.onClosed(() => this.#end())
      this.#negotiate(pc, relay)
      // Before anything can reach SCTP: the adapter creates the reserved
      // channels now, and the mux only sees the peer's traffic once
      // gathering completes, which node-datachannel reports later.
      connecting = connectOverWebRtc(peer, { ...this.#init.connectOptions, signal: this.#abort.signal })
    } catch {
      this.#end()
      return
    }
    let connection: KeypinConnection
    try {
      connection = await connecting
    } catch {
      this.#end()
      return
    }
    if (this.#phase !== 'handshaking') {
      void connection.close({ code: 'closed', message: 'the server is shutting down' }).catch(() => {})
      return
    }
    this.#phase = 'established'
    this.#connection = connection
    clearTimeout(this.#timer)
    this.#init.onEstablished(this, connection)
  }

  /**
   * Remote offer, then the answer with the server's own ICE credentials. Both
   * guards below matter: node-datachannel's setLocalDescription is not
   * exception-safe, and an invalid credential or an unexpected signalling
   * state there aborts the process instead of throwing.
   */
  #negotiate(pc: PeerConnection, relay: LoopbackRelay): void {
    const { admitted } = this.#init
    pc.setRemoteDescription(
      dialerOffer({ dialerUfrag: admitted.dialerUfrag, dialerPwd: admitted.dialerPwd, relayHost: LOOPBACK, relayPort: relay.port }),
      'offer',
    )
    if (pc.signalingState() !== 'have-remote-offer') {
      throw new Error(`unexpected signalling state ${pc.signalingState()} after the remote offer`)
    }
    pc.setLocalDescription('answer', { iceUfrag: admitted.serverUfrag, icePwd: admitted.serverPwd })
  }

  /**
   * node-datachannel answers Binding requests with the address it saw, the
   * relay's loopback port. The dialer would learn that as its own reflexive
   * address (and with it a detail of the server's insides), so success
   * responses get the peer's real address, re-signed with the server's
   * password. Everything else passes untouched.
   */
  #fromMux(packet: Uint8Array): Uint8Array {
    if (!isBindingSuccess(packet)) return packet
    try {
      return resignStunMessage(packet, { key: this.#serverKey, xorMappedAddress: this.remote })
    } catch {
      return packet
    }
  }

  #onMuxReady(): void {
    if (this.#muxReady || this.#phase === 'ended') return
    this.#muxReady = true
    this.#relay?.toMux(this.#init.firstRequest)
    this.#flush()
  }

  #onIceUp(): void {
    if (this.#iceUp || this.#phase === 'ended') return
    this.#iceUp = true
    this.#flush()
  }

  /** Passes on what may go through now, in arrival order; keeps the rest. */
  #flush(): void {
    const relay = this.#relay
    if (relay === undefined || !this.#muxReady) return
    const keep: Uint8Array[] = []
    for (const packet of this.#held) {
      if (this.#iceUp || isStunRange(packet)) relay.toMux(packet)
      else keep.push(packet)
    }
    this.#held = keep
  }

  #end(): void {
    if (this.#phase === 'ended') return
    this.#phase = 'ended'
    clearTimeout(this.#timer)
    clearTimeout(this.#closeFallback)
    this.#held = []
    this.#abort.abort()
    const peer = this.#peer
    peer?.close()
    void (async () => {
      if (peer) await Promise.race([peer.nativeClosed, delay(NATIVE_CLOSE_WAIT_MS)])
      await delay(RELAY_LINGER_MS)
      const relay = await this.#relayOpened
      relay?.close()
      this.#relay = undefined
      this.#resolveEnded()
      this.#init.onEnded(this)
    })()
  }
}

/** A STUN Binding success response (type 0x0101, magic cookie in place). */
function isBindingSuccess(packet: Uint8Array): boolean {
  return (
    packet.length >= STUN_HEADER_SIZE &&
    ((packet[0] as number) << 8 | (packet[1] as number)) === STUN_BINDING_SUCCESS &&
    new DataView(packet.buffer, packet.byteOffset + 4, 4).getUint32(0) === STUN_MAGIC_COOKIE
  )
}

/** RFC 7983: a first byte of 0-3 is STUN; DTLS is 20-63. */
function isStunRange(packet: Uint8Array): boolean {
  return packet.length > 0 && (packet[0] as number) < 4
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
