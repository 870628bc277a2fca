/**
 * The listener's WebRTC path: receives STUN and known-peer datagrams from
 * the demultiplexer, starts a session for each authenticated new peer within
 * the limits, hands established connections to the listener, and closes
 * everything on shutdown.
 *
 * Hostile-network rules: a datagram that fails the STUN guard creates no
 * state at all (not even a counter per source); the limits are checked
 * before any socket or native object exists; a request whose server ufrag is
 * in use or was used recently is dropped. That stops replays of a captured
 * request, keeps two ICE agents from sharing a ufrag inside node-datachannel's
 * mux, and ignores the consent checks a browser keeps sending for a moment
 * after its connection closed (each would otherwise be taken for a new
 * handshake and held until the handshake timeout).
 *
 * This file does not parse STUN or talk to node-datachannel itself.
 */
import type { Reason } from '@keypin/core'
import type { KeypinConnection } from '@keypin/core/engine'
import type { WebRtcConnectOptions } from '@keypin/core/webrtc'
import type { WebRtcHandler, WebRtcStats } from '../demux.js'
import type { Identity } from '../identity.js'
import type { ResolvedWebRtcServerOptions } from './options.js'
import { WebRtcRuntime } from './runtime.js'
import { WebRtcSession } from './session.js'
import { admitBindingRequest } from './stun-guard.js'

export interface WebRtcServerInit {
  identity: Identity
  options: ResolvedWebRtcServerOptions
  /** Options for each connection (windows, stream limits, datagram queue). */
  connectOptions: Omit<WebRtcConnectOptions, 'signal'>
  /** Sends from the listener's public socket. */
  send(packet: Uint8Array, host: string, port: number): void
  /** Hands an established connection to the listener's accept queue. */
  enqueue(connection: KeypinConnection): void
}

/** Upper bound on waiting for sessions to release their resources on close. */
const CLOSE_WAIT_MS = 3000

/**
 * How long a server ufrag stays refused after its session ended. Every
 * honest dial uses a fresh one (a random U, or the dialer's fresh ICE
 * password), so this only ever refuses stragglers and replays; browsers stop
 * consent checks well within it.
 */
const RETIRED_UFRAG_MS = 60_000

/** Most retired ufrags remembered; beyond it the oldest are forgotten first. */
const MAX_RETIRED_UFRAGS = 16_384

export class WebRtcServer implements WebRtcHandler {
  readonly #init: WebRtcServerInit
  readonly #sessions = new Map<string, WebRtcSession>()
  /** Server ufrags of live sessions. */
  readonly #ufrags = new Set<string>()
  /** Server ufrags of ended sessions and when they may be used again, oldest first. */
  readonly #retired = new Map<string, number>()
  /** Sessions not yet established; the limits count these. */
  readonly #handshaking = new Set<WebRtcSession>()
  readonly #handshakesByHost = new Map<string, number>()
  #rejected = 0
  #runtime: Promise<WebRtcRuntime> | undefined
  #closing = false
  #closed: Promise<void> | undefined

  constructor(init: WebRtcServerInit) {
    this.#init = init
  }

  get stats(): WebRtcStats {
    let relays = 0
    for (const session of this.#sessions.values()) if (session.hasRelay) relays++
    return {
      webrtcPeers: this.#sessions.size - this.#handshaking.size,
      webrtcHandshakes: this.#handshaking.size,
      relays,
      webrtcRejected: this.#rejected,
    }
  }

  hasPeer(host: string, port: number): boolean {
    return this.#sessions.has(key(host, port))
  }

  receive(data: Buffer, host: string, port: number): void {
    const session = this.#sessions.get(key(host, port))
    if (session) {
      session.receive(data)
      return
    }
    this.#admit(data, host, port)
  }

  close(reason?: Reason): Promise<void> {
    this.#closed ??= this.#close(reason)
    return this.#closed
  }

  async #close(reason: Reason | undefined): Promise<void> {
    this.#closing = true
    const sessions = [...this.#sessions.values()]
    for (const session of sessions) session.close(reason ?? { code: 'closed', message: 'server shutting down' })
    await withDeadline(Promise.all(sessions.map((session) => session.ended)), CLOSE_WAIT_MS)
    const runtime = this.#runtime
    if (runtime === undefined) return
    const started = await runtime.catch(() => undefined)
    if (started === undefined) return
    // node-datachannel may only be released once its threads are done with
    // every peer connection (see native.ts).
    const peers = sessions.flatMap((session) => (session.peer ? [session.peer.nativeClosed] : []))
    await withDeadline(Promise.all(peers), CLOSE_WAIT_MS)
    await started.stop()
  }

  /** A datagram from an unknown source: maybe the first request of a new peer. */
  #admit(data: Buffer, host: string, port: number): void {
    if (this.#closing) return
    const limitsReached =
      this.#handshaking.size >= this.#init.options.maxHandshakes ||
      (this.#handshakesByHost.get(host) ?? 0) >= this.#init.options.maxHandshakesPerHost
    const admitted = limitsReached ? null : admitBindingRequest(data, this.#init.identity.digest)
    if (admitted === null || this.#ufrags.has(admitted.serverUfrag) || this.#isRetired(admitted.serverUfrag)) {
      this.#rejected++
      return
    }
    const session = new WebRtcSession({
      runtime: this.#startRuntime(),
      remote: { host, port },
      admitted,
      firstRequest: Uint8Array.from(data),
      send: (packet) => this.#init.send(packet, host, port),
      connectOptions: this.#init.connectOptions,
      handshakeTimeout: this.#init.options.handshakeTimeout,
      onEstablished: (established, connection) => this.#onEstablished(established, connection),
      onEnded: (ended) => this.#onEnded(ended),
    })
    this.#sessions.set(key(host, port), session)
    this.#ufrags.add(admitted.serverUfrag)
    this.#handshaking.add(session)
    this.#handshakesByHost.set(host, (this.#handshakesByHost.get(host) ?? 0) + 1)
  }

  #startRuntime(): Promise<WebRtcRuntime> {
    if (this.#runtime === undefined) {
      const starting = WebRtcRuntime.start(this.#init.identity)
      this.#runtime = starting
      // A failed start (no native binary, no free loopback port) fails the
      // sessions waiting on it; the next handshake tries again.
      starting.catch(() => {
        if (this.#runtime === starting) this.#runtime = undefined
      })
    }
    return this.#runtime
  }

  #onEstablished(session: WebRtcSession, connection: KeypinConnection): void {
    this.#handshakeDone(session)
    if (this.#closing) {
      session.close({ code: 'closed', message: 'server shutting down' })
      return
    }
    this.#init.enqueue(connection)
  }

  #onEnded(session: WebRtcSession): void {
    const sessionKey = key(session.remote.host, session.remote.port)
    if (this.#sessions.get(sessionKey) !== session) return
    this.#handshakeDone(session)
    this.#sessions.delete(sessionKey)
    this.#ufrags.delete(session.serverUfrag)
    this.#retire(session.serverUfrag)
  }

  #retire(ufrag: string): void {
    const now = Date.now()
    // Insertion order is expiry order: forget from the front.
    for (const [oldest, until] of this.#retired) {
      if (until > now && this.#retired.size < MAX_RETIRED_UFRAGS) break
      this.#retired.delete(oldest)
    }
    this.#retired.delete(ufrag)
    this.#retired.set(ufrag, now + RETIRED_UFRAG_MS)
  }

  #isRetired(ufrag: string): boolean {
    const until = this.#retired.get(ufrag)
    return until !== undefined && until > Date.now()
  }

  /** Moves a session out of the handshake counts; idempotent (established sessions end later). */
  #handshakeDone(session: WebRtcSession): void {
    if (!this.#handshaking.delete(session)) return
    const host = session.remote.host
    const count = (this.#handshakesByHost.get(host) ?? 1) - 1
    if (count > 0) this.#handshakesByHost.set(host, count)
    else this.#handshakesByHost.delete(host)
  }
}

function key(host: string, port: number): string {
  return `${host}|${port}`
}

async function withDeadline(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))])
  clearTimeout(timer)
}
