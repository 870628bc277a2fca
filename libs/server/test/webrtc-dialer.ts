/**
 * A Node-side WebRTC dialer for the server's tests, on node-datachannel's
 * plain PeerConnection API (not its W3C polyfill, which ignores a rewritten
 * local description and so cannot do the classic handshake). It does what a
 * browser does: creates its real offer, writes the server's answer itself
 * from the address, and pins the server's DTLS certificate. Not a test file,
 * and not the product's dialer (@keypin/webrtc-client).
 *
 * Two handshakes, as in the wire facts:
 * - no-munge: the offer keeps node-datachannel's own ufrag/pwd; the answer
 *   uses ufrag = our pwd and pwd = derived from it;
 * - classic: the offer is made with a chosen ufrag U and pwd(U) (through
 *   LocalDescriptionInit), and the answer uses the same pair.
 *
 * Also holds this process's share of the node-datachannel user count (see
 * the server's webrtc/native.ts), so a listener closing mid-file does not run
 * the process-wide cleanup under the dialers; `releaseDialers()` gives it
 * back once a file is done.
 */
import nodeDataChannel, { type DataChannel, type PeerConnection } from 'node-datachannel'
import { deriveIcePassword, noMungeServerCredentials, parseAddress, randomIceUfrag, readIceCredentials, synthesizeAnswer } from '@keypin/core'
import type { KeypinConnection } from '@keypin/core/engine'
import { connectOverWebRtc } from '@keypin/core/webrtc'
// The server's own node-datachannel glue serves the dialing side as well.
import { NativePeer } from '../dist/webrtc/native-peer.js'

export type Handshake = 'classic' | 'no-munge'

const USERS = Symbol.for('keypin.node-datachannel.users')
const users = ((globalThis as unknown as Record<symbol, { count: number } | undefined>)[USERS] ??= { count: 0 })
users.count++

const livePeers = new Set<PeerConnection>()
const closedPeers = new WeakMap<PeerConnection, Promise<void>>()

/** A peer connection whose state changes are observable (node-datachannel keeps one callback per event). */
function createPeerConnection(): { pc: PeerConnection; states: string[]; stateReached(state: string): Promise<void> } {
  const pc = new nodeDataChannel.PeerConnection('test-dialer', {
    iceServers: [],
    bindAddress: '127.0.0.1',
    // Explicit negotiation: an automatic offer would go out before the
    // classic handshake's credentials are applied (and they would be ignored).
    disableAutoNegotiation: true,
  })
  livePeers.add(pc)
  const states: string[] = []
  const waiters: Array<{ state: string; resolve: () => void }> = []
  let resolveClosed: () => void = () => {}
  closedPeers.set(pc, new Promise((resolve) => (resolveClosed = resolve)))
  pc.onStateChange((state) => {
    states.push(state)
    for (const waiter of waiters.filter((w) => w.state === state)) waiter.resolve()
    if (state === 'closed') {
      livePeers.delete(pc)
      resolveClosed()
    }
  })
  return {
    pc,
    states,
    stateReached: (state) =>
      states.includes(state) ? Promise.resolve() : new Promise((resolve) => waiters.push({ state, resolve })),
  }
}

/**
 * Starts the handshake on `pc`: once the local offer exists, the server's
 * answer is synthesized from `address` and applied. Channels must exist
 * before this is called (the offer needs an application section). The
 * returned promise only ever rejects, when the answer cannot be applied.
 */
function negotiate(pc: PeerConnection, address: string, handshake: Handshake): Promise<never> {
  const { host, port, family, digest } = parseAddress(address)
  const classic = { ufrag: randomIceUfrag(), pwd: '' }
  classic.pwd = deriveIcePassword(digest, classic.ufrag)
  return new Promise<never>((_, reject) => {
    pc.onLocalDescription((sdp, type) => {
      if (type !== 'offer') return
      try {
        const own = readIceCredentials(sdp)
        if (handshake === 'classic' && (own.ufrag !== classic.ufrag || own.pwd !== classic.pwd)) {
          throw new Error(`node-datachannel ignored the classic credentials: the offer has ufrag ${own.ufrag}`)
        }
        const server = handshake === 'classic' ? classic : noMungeServerCredentials(digest, own.pwd)
        pc.setRemoteDescription(synthesizeAnswer({ host, port, family, digest, ...server }), 'answer')
      } catch (error) {
        reject(error)
      }
    })
    if (handshake === 'classic') pc.setLocalDescription('offer', { iceUfrag: classic.ufrag, icePwd: classic.pwd })
    else pc.setLocalDescription('offer')
  })
}

export interface RawDial {
  pc: PeerConnection
  /** The negotiated control channel (id 0), open; the test speaks the protocol on it by hand. */
  control: DataChannel
  /** Every binary message received on `control`. */
  messages: Uint8Array[]
  /** Resolves once `messages` has at least `count` entries. */
  received(count: number): Promise<void>
  close(): Promise<void>
}

/**
 * Dials without the Keypin adapter: just the peer connection and the
 * negotiated control channel; resolves once ICE, DTLS and SCTP are up and
 * the channel is open.
 */
export async function dialRaw(address: string, handshake: Handshake, ms = 5000): Promise<RawDial> {
  const { pc, stateReached } = createPeerConnection()
  const control = pc.createDataChannel('', { negotiated: true, id: 0 })
  const messages: Uint8Array[] = []
  const waiters: Array<{ count: number; resolve: () => void }> = []
  const opened = new Promise<void>((resolve) => control.onOpen(() => resolve()))
  control.onMessage((message) => {
    if (typeof message === 'string') return
    messages.push(new Uint8Array(message instanceof ArrayBuffer ? message : Uint8Array.from(message)))
    for (const waiter of waiters.filter((w) => messages.length >= w.count)) waiter.resolve()
  })
  const failed = negotiate(pc, address, handshake)
  const dialed: RawDial = {
    pc,
    control,
    messages,
    received: (count) =>
      messages.length >= count ? Promise.resolve() : new Promise((resolve) => waiters.push({ count, resolve })),
    close: () => closePeer(pc),
  }
  try {
    await within(Promise.race([Promise.all([stateReached('connected'), opened]), failed]), ms, `raw ${handshake} dial to ${address}`)
  } catch (error) {
    await dialed.close()
    throw error
  }
  return dialed
}

/** Dials and runs the Keypin protocol over the peer connection (connectOverWebRtc). */
export async function dialKeypin(address: string, handshake: Handshake, ms = 5000): Promise<KeypinConnection> {
  const { pc } = createPeerConnection()
  const { host, port } = parseAddress(address)
  // The adapter creates the reserved negotiated channels right away, which
  // also gives the offer its application section.
  const connecting = connectOverWebRtc(new NativePeer(pc, { host, port }), { signal: AbortSignal.timeout(ms) })
  const failed = negotiate(pc, address, handshake)
  try {
    return await Promise.race([connecting, failed])
  } catch (error) {
    await closePeer(pc)
    throw error
  }
}

/** Closes `pc` and waits (bounded) until node-datachannel reports it closed. */
export async function closePeer(pc: PeerConnection): Promise<void> {
  try {
    pc.close()
  } catch {
    // Already gone.
  }
  await within(closedPeers.get(pc) ?? Promise.resolve(), 2000, 'the dialer peer connection to close').catch(() => {})
}

/**
 * Closes every dialer peer connection still open, gives back this file's
 * node-datachannel user count and, when it was the last, runs the
 * process-wide cleanup so the test process can exit. Call once, at the end
 * of a file, after its listeners are closed.
 */
export async function releaseDialers(): Promise<void> {
  await Promise.all([...livePeers].map((pc) => closePeer(pc)))
  users.count = Math.max(0, users.count - 1)
  if (users.count === 0) nodeDataChannel.cleanup()
}

export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms))),
    ])
  } finally {
    clearTimeout(timer)
  }
}
