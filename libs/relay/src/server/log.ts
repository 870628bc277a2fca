/**
 * Structured logs. The relay hands objects {level, msg, ...fields} to the
 * logger; the default writes one JSON line per entry to stderr (debug
 * entries are skipped). Callers never pass message bodies, plaintext or
 * keys: fields are user ids, message ids, room ids, counts and codes.
 */

export type RelayLogLevel = 'debug' | 'info' | 'warn' | 'error'

export interface RelayLogEntry {
  level: RelayLogLevel
  msg: string
  [field: string]: unknown
}

export type RelayLogger = (entry: RelayLogEntry) => void

export function stderrLogger(entry: RelayLogEntry): void {
  if (entry.level === 'debug') return
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`)
}

export function silentLogger(): void {}

/** Wraps a logger so that a throwing logger never breaks the relay. */
export function safeLogger(logger: RelayLogger | false | undefined): RelayLogger {
  if (logger === false) return silentLogger
  const target = logger ?? stderrLogger
  return (entry) => {
    try {
      target(entry)
    } catch {
      // A broken logger loses the entry, nothing else.
    }
  }
}
