/**
 * Options of connectOverWebRtc, their defaults and validation, plus the fixed
 * buffer thresholds the adapter uses. Nothing here touches a channel.
 */
import { KeypinError, describe } from '../errors.js'
import type { StreamOptions } from '../engine/stream.js'
import { DEFAULT_WINDOWS } from '../wire/control.js'

/**
 * Options of one connection over a peer connection.
 *
 * `idleTimeout` and `keepAliveInterval` mirror QUIC's: keep-alives are
 * MAX_DATA messages repeating the granted limit, and the idle timer runs
 * once the peer has sent one (SPEC, control messages). Without them a dead
 * path is left to the platform: ICE consent freshness (RFC 7675) fails the
 * peer connection after about 30 s without an answer, and with data in
 * flight SCTP usually gives up first (13 to 25 s on a 50 ms path in our
 * tests). `helloTimeout` bounds only the establishment.
 */
export interface WebRtcConnectOptions extends StreamOptions {
  /** Aborting before the HELLO exchange completes rejects with the signal's reason and closes the peer. */
  signal?: AbortSignal
  /** Milliseconds to wait for the peer's HELLO (and our control channel to open). Default 10000. */
  helloTimeout?: number
  /** Bytes the peer may send on each stream before we grant more (our HELLO initialMaxStreamData). Default 1 MiB. */
  maxStreamData?: number
  /** Bytes the peer may send on the whole connection before we grant more (initialMaxData). Default 8 MiB. */
  maxData?: number
  /** Streams the peer may have open at once (initialMaxStreams, then raised as they finish). Default 100. */
  maxStreams?: number
  /** Inbound datagrams kept for the application before the oldest is dropped. */
  datagramQueueLength?: number
  /**
   * Milliseconds without anything from the peer (control message, datagram or
   * stream data) after which the connection ends with `timeout`. Default
   * 30000; 0 turns it off. Armed only once the peer has shown that it sends
   * keep-alives (a MAX_DATA that raises nothing), so a peer that does not
   * is never cut for being quiet.
   */
  idleTimeout?: number
  /**
   * Milliseconds between keep-alives: MAX_DATA re-sent with the current
   * limit, which every implementation accepts and ignores. Default 10000; 0
   * sends none. Must be shorter than the peer's idle timeout.
   */
  keepAliveInterval?: number
}

export interface ResolvedWebRtcOptions {
  helloTimeout: number
  maxStreamData: number
  maxData: number
  maxStreams: number
  datagramQueueLength: number | undefined
  idleTimeout: number
  keepAliveInterval: number
  streamOptions: StreamOptions
}

export const DEFAULT_HELLO_TIMEOUT = 10_000
export const DEFAULT_IDLE_TIMEOUT = 30_000
export const DEFAULT_KEEP_ALIVE_INTERVAL = 10_000

/**
 * A stream stops handing frames to its channel while more than this is
 * queued inside it: SCTP would otherwise hold megabytes that a reset or a
 * close can no longer take back, and browsers close a channel whose queue
 * passes 16 MiB.
 */
export const STREAM_BUFFERED_HIGH = 1024 * 1024

/** A stalled stream resumes once its channel's queue has drained to this. */
export const STREAM_BUFFERED_LOW = 256 * 1024

/**
 * Most a single write hands to the channel before looking at the queue
 * again, so one large write cannot overshoot STREAM_BUFFERED_HIGH by much.
 */
export const STREAM_SEND_BATCH = 256 * 1024

/** Datagrams wait (the engine's send waits) while this much is queued on the datagram channel. */
export const DATAGRAM_BUFFERED_HIGH = 64 * 1024

/** Waiting datagram senders resume once the datagram channel's queue has drained to this. */
export const DATAGRAM_BUFFERED_LOW = 16 * 1024

/**
 * How long close() gives SCTP to deliver CONNECTION_CLOSE before closing the
 * peer connection (which discards whatever is still queued).
 */
export const CLOSE_LINGER_MS = 100

export function resolveWebRtcOptions(options: WebRtcConnectOptions = {}): ResolvedWebRtcOptions {
  if (typeof options !== 'object' || options === null) {
    throw new KeypinError('invalid-argument', `options must be an object, got ${describe(options)}`)
  }
  const helloTimeout = options.helloTimeout ?? DEFAULT_HELLO_TIMEOUT
  if (typeof helloTimeout !== 'number' || !Number.isFinite(helloTimeout) || helloTimeout <= 0) {
    throw new KeypinError('invalid-argument', `helloTimeout must be a positive number of milliseconds, got ${describe(helloTimeout)}`)
  }
  return {
    helloTimeout,
    // Zero byte windows would stall every stream for good; zero streams is a
    // legitimate "the peer may not open streams".
    maxStreamData: limit(options.maxStreamData, DEFAULT_WINDOWS.initialMaxStreamData, 1, 'maxStreamData'),
    maxData: limit(options.maxData, DEFAULT_WINDOWS.initialMaxData, 1, 'maxData'),
    maxStreams: limit(options.maxStreams, DEFAULT_WINDOWS.initialMaxStreams, 0, 'maxStreams'),
    datagramQueueLength: options.datagramQueueLength,
    idleTimeout: milliseconds(options.idleTimeout, DEFAULT_IDLE_TIMEOUT, 'idleTimeout'),
    keepAliveInterval: milliseconds(options.keepAliveInterval, DEFAULT_KEEP_ALIVE_INTERVAL, 'keepAliveInterval'),
    streamOptions: { readHighWaterMark: options.readHighWaterMark, writeHighWaterMark: options.writeHighWaterMark },
  }
}

function limit(value: unknown, fallback: number, min: number, what: string): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new KeypinError('invalid-argument', `${what} must be an integer ${min}..2^53-1, got ${describe(value)}`)
  }
  return value
}

/** A non-negative duration in milliseconds; 0 means off. */
function milliseconds(value: unknown, fallback: number, what: string): number {
  const ms = value ?? fallback
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new KeypinError('invalid-argument', `${what} must be a non-negative number of milliseconds, got ${describe(ms)}`)
  }
  return ms
}
