/**
 * The harness every measurement runs in: a fresh server child, the body under
 * a hard time limit, then cleanup of whatever connections it opened. A failure
 * or timeout becomes the outcome's error text (shown in the table cell) and a
 * progress line on stderr; the bench moves on.
 */
import { performance } from 'node:perf_hooks'
import { errorText } from './common.js'
import type { ClientConn } from './dialers.js'
import type { Impl } from './impls.js'
import { oddities } from './oddities.js'
import { ServerChild } from './server-child.js'
import { withTimeout } from './timing.js'

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string }

/** Connections a measurement opened, closed (bounded) when it ends however it ends. */
export class Tracker {
  readonly conns = new Set<ClientConn>()
  aborted = false

  track(conn: ClientConn): ClientConn {
    this.conns.add(conn)
    return conn
  }

  async closeOne(conn: ClientConn, ms = 2_000): Promise<void> {
    this.conns.delete(conn)
    await withTimeout(conn.close(), ms, 'close').catch(() => {})
  }

  async closeAll(): Promise<void> {
    const all = [...this.conns]
    this.conns.clear()
    await Promise.all(all.map((conn) => withTimeout(conn.close(), 3_000, 'close').catch(() => {})))
  }
}

/** Fresh server, the measurement under a hard limit, then cleanup; failures become the cell text. */
export async function measure<T>(impl: Pick<Impl, 'label' | 'server'>, name: string, limitMs: number, body: (server: ServerChild, tracker: Tracker) => Promise<T>): Promise<Outcome<T>> {
  const started = performance.now()
  process.stderr.write(`  ${impl.label}: ${name} ... `)
  let server: ServerChild | undefined
  const tracker = new Tracker()
  let outcome: Outcome<T>
  try {
    server = await ServerChild.start(impl.server)
    const value = await withTimeout(body(server, tracker), limitMs, name)
    outcome = { ok: true, value }
    const health = await server.stats().catch(() => undefined)
    if (health && (health.uncaught > 0 || health.streamErrors > 0)) {
      oddities.push(
        `${impl.label} ${name}: server child saw ${health.streamErrors} failed streams and ${health.uncaught} uncaught errors${health.lastError ? ` (last: ${health.lastError})` : ''}`,
      )
    }
  } catch (error) {
    tracker.aborted = true
    const tail = server?.stderrTail
    outcome = { ok: false, error: errorText(error) + (tail ? ` (server stderr: ${tail})` : '') }
  }
  await tracker.closeAll()
  server?.kill()
  const seconds = ((performance.now() - started) / 1000).toFixed(1)
  process.stderr.write(outcome.ok ? `done (${seconds} s)\n` : `FAILED (${seconds} s): ${outcome.error}\n`)
  return outcome
}
