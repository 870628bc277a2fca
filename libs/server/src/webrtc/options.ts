/**
 * Options of the listener's WebRTC path, their defaults and validation.
 * The limits bound what an unauthenticated network can make the server
 * hold: every handshake in progress costs a loopback socket, a native peer
 * connection and its threads' attention until it completes or times out.
 */
import { KeypinError, describe } from '@keypin/core'

export interface WebRtcServerOptions {
  /** WebRTC handshakes in progress, all peers together. Default 256. */
  maxHandshakes?: number
  /** WebRTC handshakes in progress from one IP. Default 16. */
  maxHandshakesPerHost?: number
  /**
   * Give up on a handshake (ICE, DTLS, SCTP and the HELLO exchange) that has
   * not completed after this long (ms). Default: the listener's
   * `handshakeTimeout` (10 000).
   */
  handshakeTimeout?: number
}

export interface ResolvedWebRtcServerOptions {
  maxHandshakes: number
  maxHandshakesPerHost: number
  handshakeTimeout: number
}

export const WEBRTC_DEFAULTS = {
  maxHandshakes: 256,
  maxHandshakesPerHost: 16,
} as const

export function resolveWebRtcServerOptions(
  options: WebRtcServerOptions,
  defaultHandshakeTimeout: number,
): ResolvedWebRtcServerOptions {
  if (typeof options !== 'object' || options === null) {
    throw new KeypinError('invalid-argument', `webrtc options must be an object, got ${describe(options)}`)
  }
  return {
    maxHandshakes: integer(options.maxHandshakes, WEBRTC_DEFAULTS.maxHandshakes, 1, 1_000_000, 'webrtc.maxHandshakes'),
    maxHandshakesPerHost: integer(
      options.maxHandshakesPerHost,
      WEBRTC_DEFAULTS.maxHandshakesPerHost,
      1,
      1_000_000,
      'webrtc.maxHandshakesPerHost',
    ),
    handshakeTimeout: integer(options.handshakeTimeout, defaultHandshakeTimeout, 100, 600_000, 'webrtc.handshakeTimeout'),
  }
}

function integer(value: unknown, fallback: number, min: number, max: number, what: string): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new KeypinError('invalid-argument', `${what} must be an integer from ${min} to ${max}, got ${describe(value)}`)
  }
  return value
}
