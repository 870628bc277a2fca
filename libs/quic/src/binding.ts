/**
 * The quiche N-API binding that @matrixai/quic ships, imported directly.
 *
 * We drive the binding ourselves instead of using the package's QUICServer /
 * QUICClient: their JS layer (locks, per-packet timers, event objects) moves
 * about 1% of what the binding can. The binding is not that package's
 * documented surface, so the dependency is pinned to an exact version.
 */
export { quiche } from '@matrixai/quic/native/index.js'
export type {
  Config as QuicheConfig,
  Connection as QuicheConnection,
  ConnectionError as QuicheConnectionError,
  Host as QuicheHost,
  RecvInfo as QuicheRecvInfo,
} from '@matrixai/quic/native/index.js'

/** Errors from the binding are plain Errors whose message names the quiche error, e.g. "StreamReset(3)". */
export function quicheErrorName(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

const CODED = /^(StreamReset|StreamStopped)\((\d+)\)$/

/** Parses "StreamReset(3)" / "StreamStopped(7)" into their kind and application code. */
export function parseStreamError(error: unknown): { kind: 'StreamReset' | 'StreamStopped'; code: number } | null {
  const match = CODED.exec(quicheErrorName(error))
  if (!match) return null
  return { kind: match[1] as 'StreamReset' | 'StreamStopped', code: Number(match[2]) }
}

/** TLS alert bad_certificate (42) as a QUIC crypto error (0x100 + alert). */
export const CRYPTO_ERROR_BAD_CERTIFICATE = 0x100 + 42
