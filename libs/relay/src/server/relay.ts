/**
 * startRelay(): the messaging relay on top of a Keypin listener. It accepts
 * every connection the listener hands over, runs a session per connection,
 * and sweeps expired messages and rooms on a timer. close() stops all of
 * that and closes the database; the listener stays the caller's.
 */
import type { Registry } from 'prom-client'
import { RelayError } from '../protocol/errors.js'
import type { RelayContext } from './context.js'
import { safeLogger } from './log.js'
import { Messaging } from './messaging.js'
import { RelayMetrics } from './metrics.js'
import { checkOptions, resolveLimits, type RelayLimits, type RelayServerOptions } from './options.js'
import { Presence } from './presence.js'
import { TokenBuckets } from './rate-limit.js'
import { Rooms } from './rooms.js'
import { Session } from './session.js'
import { RelayStore } from './store.js'

export interface RelayStats {
  /** Open connections (logged in or not). */
  readonly connections: number
  readonly usersOnline: number
  /** Messages stored and not yet acknowledged. */
  readonly messagesQueued: number
  /** Messages accepted since start (one per recipient). */
  readonly messagesRouted: number
  /** Messages acknowledged by their recipient since start. */
  readonly messagesDelivered: number
  readonly rooms: number
}

export interface RelayServer {
  /** The listener's certhash, which logins must be signed for. */
  readonly certhash: string
  readonly limits: Readonly<RelayLimits>
  readonly stats: RelayStats
  /** This relay's Prometheus registry. */
  readonly metrics: Registry
  /** True once close() has been called. */
  readonly closed: boolean
  /** Runs the sweep of expired messages and rooms now (it also runs on a timer). */
  sweep(): void
  /** Stops accepting, closes every connection, commits and closes the database. Does not close the listener. */
  close(): Promise<void>
}

/** Starts a relay on `options.listener`. The database is opened (and created) synchronously. */
export function startRelay(options: RelayServerOptions): RelayServer {
  checkOptions(options)
  return new Relay(options)
}

class Relay implements RelayServer {
  readonly certhash: string
  readonly limits: Readonly<RelayLimits>
  readonly #ctx: RelayContext
  readonly #sessions = new Set<Session>()
  readonly #metrics: RelayMetrics
  readonly #accepting = new AbortController()
  readonly #sweepTimer: ReturnType<typeof setInterval>
  #closing: Promise<void> | undefined

  constructor(options: RelayServerOptions) {
    const limits = resolveLimits(options.limits)
    const now = options.now ?? Date.now
    const log = safeLogger(options.logger)
    this.limits = limits
    this.certhash = options.listener.certhash
    this.#metrics = new RelayMetrics()
    const metrics = this.#metrics
    let store: RelayStore
    try {
      store = new RelayStore(options.databasePath, {
        synchronous: options.synchronous ?? 'normal',
        onCommit: (seconds) => metrics.commitSeconds.observe(seconds),
      })
    } catch (cause) {
      throw new RelayError('invalid-argument', `cannot open the relay database: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
    }
    const context = (): RelayContext => this.#ctx
    this.#ctx = {
      certhash: this.certhash,
      limits,
      store,
      metrics,
      log,
      now,
      online: new Map(),
      buckets: {
        userMessages: new TokenBuckets(limits.userMessages, now),
        ipMessages: new TokenBuckets(limits.ipMessages, now),
        userLogins: new TokenBuckets(limits.userLogins, now),
        ipLogins: new TokenBuckets(limits.ipLogins, now),
        userRequests: new TokenBuckets(limits.userRequests, now),
        typing: new TokenBuckets(limits.typing, now),
      },
      messaging: new Messaging(context),
      rooms: new Rooms(context),
      presence: new Presence(context),
    }
    this.#ctx.messaging.load()
    metrics.rooms.set(store.roomCount())
    this.#sweepTimer = setInterval(() => this.sweep(), limits.sweepIntervalMs)
    this.#sweepTimer.unref?.()
    void this.#accept(options)
    log({ level: 'info', msg: 'relay started', certhash: this.certhash, queued: this.#ctx.messaging.totalQueued })
  }

  get stats(): RelayStats {
    const ctx = this.#ctx
    return {
      connections: this.#sessions.size,
      usersOnline: ctx.online.size,
      messagesQueued: ctx.messaging.totalQueued,
      messagesRouted: ctx.messaging.routed,
      messagesDelivered: ctx.messaging.delivered,
      rooms: ctx.store.closed ? 0 : ctx.store.roomCount(),
    }
  }

  get metrics(): Registry {
    return this.#metrics.registry
  }

  get closed(): boolean {
    return this.#closing !== undefined
  }

  async #accept(options: RelayServerOptions): Promise<void> {
    const signal = this.#accepting.signal
    while (!signal.aborted) {
      let connection
      try {
        connection = await options.listener.accept({ signal })
      } catch {
        // Aborted by close(), or the listener closed: either way, accepting is over.
        return
      }
      const session = new Session(this.#ctx, connection)
      this.#sessions.add(session)
      void session.start().finally(() => this.#sessions.delete(session))
    }
  }

  sweep(): void {
    if (this.#closing) return
    try {
      this.#ctx.messaging.sweep()
      this.#ctx.rooms.sweep()
      const { store, limits, now } = this.#ctx
      store.pruneUsers(now() - limits.userRetentionMs)
      for (const buckets of Object.values(this.#ctx.buckets) as TokenBuckets[]) buckets.prune()
    } catch (error) {
      this.#ctx.log({ level: 'error', msg: 'sweep failed', error: String(error) })
    }
  }

  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    clearInterval(this.#sweepTimer)
    this.#accepting.abort()
    for (const session of this.#sessions) session.fail('shutting-down', 'the relay is shutting down', 'shutdown')
    await Promise.all([...this.#sessions].map((session) => session.start().catch(() => {})))
    this.#ctx.store.close()
    this.#ctx.log({ level: 'info', msg: 'relay closed' })
  }
}
