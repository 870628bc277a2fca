/**
 * What the parts of a running relay share: its configuration, store,
 * metrics, clock, buckets and the map of online users. One object per
 * relay, built by relay.ts and handed to every part.
 */
import type { Messaging } from './messaging.js'
import type { RelayMetrics } from './metrics.js'
import type { RelayLimits } from './options.js'
import type { Presence } from './presence.js'
import type { TokenBuckets } from './rate-limit.js'
import type { Rooms } from './rooms.js'
import type { Session } from './session.js'
import type { RelayStore } from './store.js'
import type { RelayLogger } from './log.js'

export interface RelayBuckets {
  readonly userMessages: TokenBuckets
  readonly ipMessages: TokenBuckets
  readonly userLogins: TokenBuckets
  readonly ipLogins: TokenBuckets
  readonly userRequests: TokenBuckets
  readonly typing: TokenBuckets
}

export interface RelayContext {
  readonly certhash: string
  readonly limits: RelayLimits
  readonly store: RelayStore
  readonly metrics: RelayMetrics
  readonly log: RelayLogger
  readonly now: () => number
  readonly buckets: RelayBuckets
  /** The session of every logged-in user. */
  readonly online: Map<string, Session>
  readonly messaging: Messaging
  readonly rooms: Rooms
  readonly presence: Presence
}
