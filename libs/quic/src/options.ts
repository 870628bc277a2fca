/**
 * Tunables shared by the QUIC server and client, with the defaults they
 * document. Flow-control windows follow the protocol's recommendations
 * (1 MiB per stream, 8 MiB per connection, 100 concurrent streams).
 */
import { KeypinError } from '@keypin/core'

export interface QuicOptions {
  /**
   * Close a connection after this long without any packet from the peer
   * (ms), 100 to 600 000. Default 30 000.
   *
   * Sent to the peer as `max_idle_timeout`; the connection uses the smaller
   * of the two ends' values (and never less than three probe timeouts). The
   * timer restarts on every packet received from the peer, and on the first
   * ack-eliciting packet sent after one (the next write, retransmission
   * probe or keep-alive), so a path that goes dead is noticed one idle
   * timeout after that: at most about one and a half keep-alive intervals
   * later than one idle timeout after its last packet. The end is silent
   * (nothing is sent on a dead path): `closed` resolves with code `timeout`
   * and initiator `transport`, and pending and later operations fail with a
   * `timeout` KeypinError. QUIC only: WebRTC connections have no idle
   * timeout of their own (see the package READMEs).
   */
  idleTimeout?: number
  /**
   * Send a PING when nothing has been sent for this long (ms; checked every
   * half interval); 0 disables. Default 10 000. Must be shorter than
   * `idleTimeout`.
   *
   * The PING is answered, so one side's keep-alives keep both ends' idle
   * timers (and NAT bindings on the path) fresh while the application is
   * quiet. Leave room for a lost PING or two: a third of the effective idle
   * timeout or less. With keep-alives disabled on both ends, a connection on
   * which nothing is sent ends after the idle timeout although both are there.
   */
  keepAliveInterval?: number
  /** Give up on a handshake that has not completed after this long (ms). Default 10 000. */
  handshakeTimeout?: number
  /** Initial flow-control window per stream (bytes). Default 1 MiB. */
  maxStreamData?: number
  /** Initial flow-control window per connection (bytes). Default 8 MiB. */
  maxData?: number
  /** Concurrent streams the peer may open. Default 100. */
  maxStreams?: number
  /** Largest UDP payload we send (bytes). Default 1350, safe on ordinary paths. */
  maxUdpPayloadSize?: number
  /** Inbound datagrams queued for the application before the oldest is dropped. Default 256. */
  datagramQueueLength?: number
}

export type ResolvedQuicOptions = Required<QuicOptions>

export const QUIC_DEFAULTS: ResolvedQuicOptions = {
  idleTimeout: 30_000,
  keepAliveInterval: 10_000,
  handshakeTimeout: 10_000,
  maxStreamData: 1024 * 1024,
  maxData: 8 * 1024 * 1024,
  maxStreams: 100,
  maxUdpPayloadSize: 1350,
  datagramQueueLength: 256,
}

const LIMITS: Record<keyof QuicOptions, [min: number, max: number]> = {
  idleTimeout: [100, 600_000],
  keepAliveInterval: [0, 600_000],
  handshakeTimeout: [100, 600_000],
  maxStreamData: [1024, 2 ** 30],
  maxData: [1024, 2 ** 32],
  maxStreams: [1, 1_000_000],
  maxUdpPayloadSize: [1200, 65_527],
  datagramQueueLength: [1, 1_000_000],
}

/** Fills defaults and rejects values that are not finite integers in range, naming the option. */
export function resolveQuicOptions(options: QuicOptions = {}): ResolvedQuicOptions {
  const resolved = { ...QUIC_DEFAULTS }
  for (const key of Object.keys(LIMITS) as (keyof QuicOptions)[]) {
    const value = options[key]
    if (value === undefined) continue
    const [min, max] = LIMITS[key]
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new KeypinError('invalid-argument', `option ${key} must be an integer from ${min} to ${max}, got ${String(value)}`)
    }
    resolved[key] = value
  }
  if (resolved.keepAliveInterval !== 0 && resolved.keepAliveInterval >= resolved.idleTimeout) {
    throw new KeypinError(
      'invalid-argument',
      `option keepAliveInterval (${resolved.keepAliveInterval}) must be shorter than idleTimeout (${resolved.idleTimeout})`,
    )
  }
  return resolved
}
