/**
 * Test-only glue: wraps node-datachannel's PeerConnection and DataChannel
 * into the adapter's RtcPeer / RtcChannel shapes, and connects two peer
 * connections inside one process with direct signalling (SDP and candidates
 * handed across in memory, loopback only). Not a test file itself, and not
 * the server's or the browser client's glue: those do their own signalling.
 *
 * node-datachannel traps this glue works around, each worth knowing when
 * writing another wrapper:
 * - an exception thrown inside any node-datachannel callback aborts the
 *   process (it surfaces as a C++ Napi::Error), so every callback here runs
 *   its handlers under try/catch;
 * - a DataChannel object that JavaScript no longer references is garbage
 *   collected and destroyed: its messages are then silently dropped and the
 *   transfer stalls. And once any channel or peer connection object has been
 *   collected (even a closed one), `cleanup()` hangs for ten seconds and
 *   throws "cleanup timeout (possible deadlock)". So this file keeps every
 *   object it creates until cleanup;
 * - with auto-negotiation on, creating a data channel on the answering side
 *   before the offer arrives makes it send an offer of its own (glare, then
 *   an abort); both sides here negotiate explicitly;
 * - candidates can reach the other side before its remote description is
 *   set, and addRemoteCandidate then throws; they are queued until the
 *   offerer has the answer (see createPeerPair for why that late);
 * - a message on an SCTP stream that has no channel yet is dropped and the
 *   stream reset, so the negotiated channels must exist before SCTP is up;
 * - the native threads keep the process alive until `cleanup()` runs, even
 *   after every peer connection is closed; and `cleanup()` hangs the same
 *   way if a peer connection that the other side closed was never closed
 *   locally too;
 * - each event takes one callback: registering a second one replaces the
 *   first, so the wrappers register once and fan out;
 * - `initLogger` needs a callback (this file installs a quiet one);
 * - messages that arrive on a new inbound channel while JavaScript is still
 *   registering its onMessage handler can be delivered out of order (see
 *   ListenGate, which sidesteps it for in-process pairs only).
 */
import nodeDataChannel, { type DataChannel, type PeerConnection } from 'node-datachannel'
import type { KeypinConnection } from '@keypin/core/engine'
import { connectOverWebRtc, type RtcChannel, type RtcChannelInit, type RtcPeer, type RtcPeerClosed, type WebRtcConnectOptions } from '@keypin/core/webrtc'

nodeDataChannel.initLogger('Error', (level, message) => {
  if (process.env['KEYPIN_WEBRTC_LOG']) console.error(`[libdatachannel ${level}] ${message}`)
})

/** Runs `fn` and swallows what it throws: nothing may escape into node-datachannel. */
function safely(fn: () => void): void {
  try {
    fn()
  } catch (error) {
    console.error('webrtc-pair: a handler threw inside a node-datachannel callback', error)
  }
}

/** Fans one native event out to handlers registered later, queueing what arrives first. */
class Fanout<T> {
  readonly #handlers: Array<(value: T) => void> = []
  readonly #early: T[] = []

  add(handler: (value: T) => void): void {
    this.#handlers.push(handler)
    for (const value of this.#early.splice(0)) safely(() => handler(value))
  }

  emit(value: T): void {
    if (this.#handlers.length === 0) {
      this.#early.push(value)
      return
    }
    for (const handler of this.#handlers) safely(() => handler(value))
  }
}

/**
 * Every channel and peer connection made here, open or closed, kept until
 * cleanup: a channel collected while in use drops its messages, and one
 * collected at all, even after it closed, makes `cleanup()` hang.
 */
const createdChannels = new Set<DataChannel>()
const createdPeers = new Set<PeerConnection>()

/**
 * Holds a fresh outgoing channel's messages until the other side of an
 * in-process pair has its message handler on that channel. Test-only, and a
 * workaround for a node-datachannel 0.33 bug, not for anything in Keypin: when
 * messages are still arriving on a new inbound channel while JavaScript
 * registers its onMessage handler (late, because its thread was busy), the
 * queued ones and the new ones are delivered from two threads at once and
 * can swap places. Real glue cannot hold anything back this way (it does
 * not know when the remote side listens); see the WebRTC adapter's notes.
 */
export class ListenGate {
  readonly #listening = new Set<number>()
  readonly #waiters = new Map<number, Array<() => void>>()

  /** The side this gate belongs to now handles messages on channel `id`. */
  listening(id: number): void {
    this.#listening.add(id)
    for (const wake of this.#waiters.get(id) ?? []) wake()
    this.#waiters.delete(id)
  }

  /** Undefined when that side already listens on `id`, else a promise for when it does. */
  whenListening(id: number): Promise<void> | undefined {
    if (this.#listening.has(id)) return undefined
    return new Promise((resolve) => {
      const list = this.#waiters.get(id) ?? []
      list.push(resolve)
      this.#waiters.set(id, list)
    })
  }
}

export function wrapDataChannel(dc: DataChannel, peerListens?: ListenGate): RtcChannel {
  createdChannels.add(dc)
  const opened = new Fanout<void>()
  const messages = new Fanout<Uint8Array>()
  const closed = new Fanout<void>()
  const low = new Fanout<void>()
  let isClosed = false
  let lowThreshold = 0
  // Messages held back by `peerListens` (copies, in order), and whether a
  // close waits for them to go out first.
  let held: Uint8Array[] | undefined
  let heldBytes = 0
  let gateChecked = peerListens === undefined
  let closeAfterFlush = false
  dc.onOpen(() => opened.emit())
  dc.onMessage((message) => {
    // Binary messages arrive as Buffers over a fresh allocation; hand them on
    // as plain Uint8Arrays. A text message is not a frame: pass its bytes on
    // and let the decoder reject them.
    const bytes =
      typeof message === 'string'
        ? new TextEncoder().encode(message)
        : message instanceof ArrayBuffer
          ? new Uint8Array(message)
          : new Uint8Array(message.buffer, message.byteOffset, message.byteLength)
    messages.emit(bytes)
  })
  dc.onClosed(() => {
    isClosed = true
    closed.emit()
  })
  dc.onBufferedAmountLow(() => low.emit())
  const flush = (): void => {
    const pending = held ?? []
    held = undefined
    heldBytes = 0
    for (const message of pending) {
      if (!isClosed) safely(() => dc.sendMessageBinary(message))
    }
    if (closeAfterFlush) safely(() => dc.close())
    // The native queue may never have crossed the threshold: say "low" ourselves.
    else if (!isClosed && dc.bufferedAmount() <= lowThreshold) low.emit()
  }
  return {
    get id() {
      return dc.getId()
    },
    get bufferedAmount() {
      return isClosed ? 0 : heldBytes + dc.bufferedAmount()
    },
    get isOpen() {
      return !isClosed && dc.isOpen()
    },
    send(message) {
      if (!gateChecked && peerListens) {
        gateChecked = true
        const wait = peerListens.whenListening(dc.getId())
        if (wait) {
          held = []
          void wait.then(flush)
        }
      }
      if (held) {
        if (isClosed) throw new Error('DataChannel is closed')
        held.push(message.slice())
        heldBytes += message.byteLength
        return
      }
      dc.sendMessageBinary(message)
    },
    close() {
      if (held) closeAfterFlush = true
      else dc.close()
    },
    setBufferedAmountLowThreshold(bytes) {
      lowThreshold = bytes
      dc.setBufferedAmountLowThreshold(bytes)
    },
    onOpen: (handler) => opened.add(handler),
    onMessage: (handler) => messages.add(handler),
    onClose: (handler) => closed.add(handler),
    onBufferedAmountLow: (handler) => low.add(handler),
  }
}

/**
 * Wraps a peer connection. `gates` is for in-process pairs only: `own` is
 * told when this side listens on an inbound channel, `peer` holds this
 * side's new outgoing channels until the other side listens (see ListenGate).
 */
export function wrapPeerConnection(pc: PeerConnection, gates?: { own: ListenGate; peer: ListenGate }): RtcPeer {
  createdPeers.add(pc)
  const channels = new Fanout<RtcChannel>()
  const ended = new Fanout<RtcPeerClosed>()
  let endReported = false
  let remote: { host: string; port: number } | undefined
  pc.onDataChannel((dc) =>
    safely(() => {
      const channel = wrapDataChannel(dc)
      // wrapDataChannel registered onMessage: from here on nothing can swap.
      gates?.own.listening(dc.getId())
      channels.emit(channel)
    }),
  )
  pc.onStateChange((state) =>
    safely(() => {
      if (process.env['KEYPIN_WEBRTC_LOG']) console.error(`[webrtc-pair] ${pc.localDescription()?.type ?? '?'} side: ${state}`)
      // Read once connected: the selected pair may be gone after a close.
      if (state === 'connected') remote = selectedRemote(pc) ?? remote
      if (endReported || (state !== 'closed' && state !== 'failed')) return
      endReported = true
      // 'failed' after ICE lost the path is the timeout-like case; a DTLS or
      // SCTP failure leaves ICE connected (libdatachannel then closes ICE too,
      // so this is a best effort).
      const ice = state === 'failed' ? pc.iceState() : 'closed'
      ended.emit({ timedOut: ice === 'failed' || ice === 'disconnected', message: `peer connection ${state} (ICE ${ice})` })
    }),
  )
  return {
    createChannel(init: RtcChannelInit) {
      const config: { negotiated?: boolean; id?: number; unordered?: boolean; maxRetransmits?: number } = {}
      if (init.negotiated) config.negotiated = true
      if (init.id !== undefined) config.id = init.id
      if (init.ordered === false) config.unordered = true
      if (init.maxRetransmits !== undefined) config.maxRetransmits = init.maxRetransmits
      // Negotiated channels exist on both sides before SCTP is up: no race to sidestep.
      return wrapDataChannel(pc.createDataChannel(init.label, config), init.negotiated ? undefined : gates?.peer)
    },
    onChannel: (handler) => channels.add(handler),
    onClosed: (handler) => ended.add(handler),
    close() {
      pc.close()
    },
    get remoteAddress() {
      remote ??= selectedRemote(pc)
      return remote ?? { host: '', port: 0 }
    },
    get maxMessageSize() {
      return endReported ? 0 : pc.maxMessageSize()
    },
  }
}

function selectedRemote(pc: PeerConnection): { host: string; port: number } | undefined {
  try {
    const pair = pc.getSelectedCandidatePair()
    return pair ? { host: pair.remote.address, port: pair.remote.port } : undefined
  } catch {
    return undefined
  }
}

export interface PeerSide {
  pc: PeerConnection
  peer: RtcPeer
}

export interface PeerPair {
  offerer: PeerSide
  answerer: PeerSide
  /** Starts the offer/answer exchange; call after both sides created their channels. */
  negotiate(): void
  close(): void
}

/**
 * Two peer connections wired to each other. Nothing happens until
 * `negotiate()`, so each side can create its channels (connectOverWebRtc)
 * before SCTP comes up, as the protocol needs.
 */
export function createPeerPair(): PeerPair {
  // Loopback only, no STUN: the pair never leaves the machine.
  const config = { iceServers: [], bindAddress: '127.0.0.1', disableAutoNegotiation: true }
  const offerPc = new nodeDataChannel.PeerConnection('offerer', config)
  const answerPc = new nodeDataChannel.PeerConnection('answerer', config)
  const toOfferer = new CandidateQueue(offerPc)
  const toAnswerer = new CandidateQueue(answerPc)
  offerPc.onLocalCandidate((candidate, mid) => toAnswerer.add(candidate, mid))
  answerPc.onLocalCandidate((candidate, mid) => toOfferer.add(candidate, mid))
  offerPc.onLocalDescription((sdp, type) =>
    safely(() => {
      // The offerer takes the DTLS client role, as a Keypin dialer does (the
      // server's answer says a=setup:passive). It also avoids a one-second
      // stall: the answerer's ICE usually connects first, and a ClientHello
      // it sent then would reach an offerer not yet ready for it and wait
      // for the DTLS retransmission timer.
      answerPc.setRemoteDescription(sdp.replace(/a=setup:actpass/g, 'a=setup:active'), type)
      answerPc.setLocalDescription('answer')
    }),
  )
  answerPc.onLocalDescription((sdp, type) =>
    safely(() => {
      offerPc.setRemoteDescription(sdp, type)
      // Candidates flow both ways only now. Were the answerer to learn the
      // offerer's candidates earlier, its connectivity checks could bring the
      // offerer's ICE up before the answer (and its fingerprint) is applied
      // there, and the offerer's DTLS would then reject the certificate
      // ("certificate verify failed"): descriptions travel through the
      // JavaScript thread, STUN does not wait for it.
      toOfferer.ready()
      toAnswerer.ready()
    }),
  )
  const offerListens = new ListenGate()
  const answerListens = new ListenGate()
  const offerer = { pc: offerPc, peer: wrapPeerConnection(offerPc, { own: offerListens, peer: answerListens }) }
  const answerer = { pc: answerPc, peer: wrapPeerConnection(answerPc, { own: answerListens, peer: offerListens }) }
  return {
    offerer,
    answerer,
    negotiate: () => offerPc.setLocalDescription('offer'),
    close() {
      offerPc.close()
      answerPc.close()
    },
  }
}

/** Holds remote candidates until the remote description they belong to is set. */
class CandidateQueue {
  readonly #pc: PeerConnection
  #pending: Array<[string, string]> | undefined = []

  constructor(pc: PeerConnection) {
    this.#pc = pc
  }

  add(candidate: string, mid: string): void {
    if (this.#pending) this.#pending.push([candidate, mid])
    else safely(() => this.#pc.addRemoteCandidate(candidate, mid))
  }

  ready(): void {
    const pending = this.#pending ?? []
    this.#pending = undefined
    for (const [candidate, mid] of pending) safely(() => this.#pc.addRemoteCandidate(candidate, mid))
  }
}

export interface ConnectedPair {
  /** The offering side's connection (the "dialer"). */
  a: KeypinConnection
  /** The answering side's connection. */
  b: KeypinConnection
  pair: PeerPair
}

/** Two Keypin connections over a fresh in-process peer pair. */
export async function connectedPair(
  options: { a?: WebRtcConnectOptions; b?: WebRtcConnectOptions } = {},
): Promise<ConnectedPair> {
  const pair = createPeerPair()
  const a = connectOverWebRtc(pair.offerer.peer, options.a)
  const b = connectOverWebRtc(pair.answerer.peer, options.b)
  pair.negotiate()
  const [ca, cb] = await Promise.all([a, b])
  return { a: ca, b: cb, pair }
}

/**
 * Closes every peer connection made here and releases node-datachannel's
 * threads, so the test process can exit. Call once, after a file's tests.
 *
 * Each peer connection is closed locally even when the other side already
 * closed it (cleanup hangs otherwise), after adapters finished their close
 * linger, so no pending peer.close() runs after cleanup.
 */
export async function cleanupWebRtc(): Promise<void> {
  await delay(CLOSE_SETTLE_MS)
  for (const pc of createdPeers) safely(() => pc.close())
  const deadline = Date.now() + 2000
  while ([...createdPeers].some((pc) => pc.state() !== 'closed') && Date.now() < deadline) await delay(10)
  nodeDataChannel.cleanup()
  // Only now may the objects go: cleanup needed every one of them alive.
  createdPeers.clear()
  createdChannels.clear()
}

/** Longer than the adapter's close linger, so its pending peer.close() calls have run. */
const CLOSE_SETTLE_MS = 200

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
