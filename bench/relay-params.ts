/**
 * The relay bench's fixed parameters: client counts, offered rates, row
 * timing and time limits, and the relay limits raised for a load generator
 * whose clients all share one IP. The report's setup text is built from
 * these, so changing one here changes what the report says.
 */
import type { RelayLimits } from '@keypin/relay/server'

/** Clients connected (and, against the relay, logged in) for every row. */
export const CLIENTS = 200

/** Load generator processes; the clients are split evenly between them. */
export const GENERATORS = 2

/**
 * Kernel send and receive buffer size asked for on the raw-UDP ceiling's
 * sockets (server and clients): what Keypin's QUIC sockets ask for. The
 * kernel caps it at net.core.rmem_max / wmem_max.
 */
export const UDP_SOCKET_BUFFER_BYTES = 4 * 1024 * 1024

/** Plaintext bytes in each pre-sealed message (a short chat line). */
export const TEXT_BYTES = 100

/** Distinct pre-sealed message bodies the generators cycle through. */
export const BODY_POOL = 16

/** Open-loop direct-message rows: messages per second offered, all generators together. */
export const DM_RATES: readonly number[] = [500, 1_000, 2_000, 5_000, 10_000, 20_000]

/** Closed-loop direct-message row: messages in flight (sent, not yet delivered) per client. */
export const CLOSED_WINDOW = 4

/** The fan-out room: members (half in each generator) and how many of them send. */
export const ROOM_MEMBERS = 100
export const ROOM_SENDERS = 4

/** Open-loop fan-out rows: room messages per second offered (each is delivered to ROOM_MEMBERS - 1 members). */
export const FANOUT_RATES: readonly number[] = [20, 200]

/**
 * Each row: offered load before the measured window (not counted), the
 * window, and the wait for its last deliveries and, on the relay, for the
 * last acknowledgements to empty its queue (so the next row starts clean).
 */
export const WARMUP_MS = 1_000
export const MEASURE_MS = 3_000
export const DRAIN_MS = 5_000

/**
 * Open loop: a generator skips a send while more than this many of its
 * messages (deliveries, for fan-out) are undelivered, so an overloaded row
 * turns into a bounded backlog rather than one that spills into the next
 * row. Skipped sends are reported.
 */
export const BACKLOG_MESSAGES = 1_000

/** Open-loop send timer period. */
export const TICK_MS = 5

/** Hard limits: one row, the setup of one target (children, dials, logins), the whole run. */
export const ROW_LIMIT_MS = 25_000
export const SETUP_LIMIT_MS = 60_000
export const RUN_LIMIT_MS = 230_000

/** The target for the relay: routed messages per second with a p99 under TARGET_P99_MS. */
export const TARGET_RATE = 20_000
export const TARGET_P99_MS = 50

/**
 * Relay limits for the bench: every client shares 127.0.0.1, so the per-IP
 * buckets would throttle the whole generator; per-user buckets and the
 * queue cap are raised so that the offered rate, not a limit, decides.
 * Everything else (in-flight window, outbound cap, frame sizes) is default.
 */
export const RELAY_LIMITS: Partial<RelayLimits> = {
  userMessages: { perSecond: 1e6, burst: 1e6 },
  ipMessages: { perSecond: 1e7, burst: 1e7 },
  ipLogins: { perSecond: 1e4, burst: 1e4 },
  userRequests: { perSecond: 1e6, burst: 1e6 },
  maxQueuePerUser: 100_000,
}
