/**
 * The implementations the bench compares, as descriptors the measurements
 * take: a label for the table and progress lines, the server child to fork,
 * the client dialer, and the per-implementation budget (`plan`).
 */
import type { ServerKind } from './common.js'
import { dialKeypinQuic, dialKeypinWebRtc, dialMatrixai, dialNdcDirect, dialNdcRelayed, type Dialer } from './dialers.js'
import { MB } from './params.js'

export interface Plan {
  /** Bytes for the throughput runs (single stream, and split over 8 streams). */
  bytes: number
  /** Writing stops at this point even if `bytes` has not been reached (ms). */
  writeCapMs: number
  /** Dial latency: counted iterations, after `warmup` uncounted ones. */
  dials: number
  warmup: number
  /** Stop dialing after this long even if fewer iterations ran (ms). */
  dialBudgetMs: number
}

export interface Impl {
  /** Name in the progress lines and the notes under the table. */
  label: string
  /** Which server the measurement's fresh child runs. */
  server: ServerKind
  dial: Dialer
  plan: Plan
  /** Run the memory measurement (the WebRTC pair skips it). Default true. */
  memory?: boolean
}

export const KEYPIN_QUIC: Impl = {
  label: 'Keypin',
  server: 'keypin',
  dial: dialKeypinQuic,
  plan: { bytes: 200 * MB, writeCapMs: 5_000, dials: 200, warmup: 5, dialBudgetMs: 20_000 },
}

export const MATRIXAI_QUIC: Impl = {
  label: '@matrixai/quic',
  server: 'matrixai',
  dial: dialMatrixai,
  plan: { bytes: 8 * MB, writeCapMs: 5_000, dials: 40, warmup: 3, dialBudgetMs: 15_000 },
}

/** Keypin over WebRTC (Node, node-datachannel polyfill) against the same Keypin listener. */
export const KEYPIN_WEBRTC: Impl = {
  label: 'Keypin WebRTC (Node)',
  server: 'keypin',
  dial: dialKeypinWebRtc,
  plan: { bytes: 50 * MB, writeCapMs: 3_000, dials: 40, warmup: 3, dialBudgetMs: 8_000 },
  memory: false,
}

/** WebRTC baseline: two raw node-datachannel peers, signalled over the child's IPC; no Keypin. */
export const NDC_DIRECT: Impl = {
  label: 'node-datachannel direct',
  server: 'ndc-direct',
  dial: dialNdcDirect,
  plan: { bytes: 50 * MB, writeCapMs: 3_000, dials: 40, warmup: 3, dialBudgetMs: 8_000 },
  memory: false,
}

/**
 * The direct pair with a bare JS UDP relay hop in the server child, shaped
 * like Keypin's (public socket, one loopback relay socket per client source):
 * what relaying in JavaScript costs by itself, the ceiling for Keypin's design.
 */
export const NDC_RELAYED: Impl = {
  label: 'node-datachannel relayed',
  server: 'ndc-relayed',
  dial: dialNdcRelayed,
  plan: NDC_DIRECT.plan,
  memory: false,
}

/** Dial latency only, from a Chromium page through the browser bundle, against the Keypin listener. */
export const CHROMIUM_PLAN: Plan = { bytes: 0, writeCapMs: 0, dials: 40, warmup: 3, dialBudgetMs: 15_000 }

/** Measured in this order. */
export const IMPLS: readonly Impl[] = [KEYPIN_QUIC, MATRIXAI_QUIC, KEYPIN_WEBRTC, NDC_RELAYED, NDC_DIRECT]
