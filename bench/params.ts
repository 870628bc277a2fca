/**
 * The bench's fixed parameters: sizes, counts and time limits shared by the
 * measurements, the orchestrator and the report's setup text. Per-
 * implementation budgets (payload, dial counts) are each Impl's `plan`.
 */

export const MB = 1_000_000

/** Stream write size for the throughput runs. */
export const CHUNK = 64 * 1024

/** Concurrent streams on one connection in the multi-stream throughput run. */
export const STREAMS = 8

/** Throughput runs per measurement (fresh connection each); the table shows the median. */
export const THROUGHPUT_REPS = 3

export const DATAGRAM_SIZE = 1000
export const DATAGRAM_MS = 2_000
export const DATAGRAM_BATCH = 64

export const MEMORY_CONNECTIONS = 100
/** Keypin admits 64 handshakes per source IP by default; stay under it. */
export const MEMORY_DIAL_BATCH = 20

/** Whole-bench watchdog: print what we have and exit. */
export const GLOBAL_LIMIT_MS = 300_000
