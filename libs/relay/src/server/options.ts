/**
 * Relay options and limits: the defaults, and the checks that turn a bad
 * option into an `invalid-argument` RelayError naming it.
 */
import type { Listener } from '@keypin/core'
import { RelayError } from '../protocol/errors.js'
import { DEFAULT_MAX_MESSAGE_BYTES, MAX_FRAME_BYTES } from '../protocol/limits.js'
import type { RelayLogger } from './log.js'

/** A token bucket: `perSecond` tokens refill continuously up to `burst`. */
export interface RateSpec {
  readonly perSecond: number
  readonly burst: number
}

export interface RelayLimits {
  /** Largest control frame payload, bytes (at most 64 KiB). */
  maxFrameBytes: number
  /** Largest sealed message, bytes. */
  maxMessageBytes: number
  /** Time from connection to successful login before the relay closes the connection. */
  loginTimeoutMs: number
  /** Messages a user may have waiting (queued or unacknowledged). */
  maxQueuePerUser: number
  /** How long an undelivered message is kept. */
  messageTtlMs: number
  /** How often expired messages and rooms are swept. */
  sweepIntervalMs: number
  /** Longest room lifetime one create or extend may ask for. */
  maxRoomTtlMs: number
  /** Largest room. */
  maxRoomMembers: number
  /** Rooms one user may be a member of (created rooms included). */
  maxRoomsPerUser: number
  /** Bytes queued to one connection before it counts as a slow consumer and is disconnected. */
  maxOutboundBytes: number
  /** Messages delivered to one connection and not yet acknowledged. */
  maxInflight: number
  /** Messages per second per user (a room send costs one per recipient). */
  userMessages: RateSpec
  /** Messages per second per source IP. */
  ipMessages: RateSpec
  /** Successful logins per user. */
  userLogins: RateSpec
  /** Login attempts per source IP. */
  ipLogins: RateSpec
  /** Other requests (keys, rooms, stray acks) per user. */
  userRequests: RateSpec
  /** Typing indicators per user (excess ones are dropped silently). */
  typing: RateSpec
  /** Violations (error frames the client caused) within the window that close the connection. */
  violationLimit: number
  /** The violation window. */
  violationWindowMs: number
  /** Users not seen for this long, with nothing queued, leave the key directory. */
  userRetentionMs: number
}

const DAY = 24 * 60 * 60 * 1000

export const DEFAULT_LIMITS: Readonly<RelayLimits> = Object.freeze({
  maxFrameBytes: MAX_FRAME_BYTES,
  maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
  loginTimeoutMs: 10_000,
  maxQueuePerUser: 1_000,
  messageTtlMs: 7 * DAY,
  sweepIntervalMs: 60_000,
  maxRoomTtlMs: 30 * DAY,
  maxRoomMembers: 256,
  maxRoomsPerUser: 100,
  maxOutboundBytes: 1024 * 1024,
  maxInflight: 256,
  userMessages: { perSecond: 100, burst: 300 },
  ipMessages: { perSecond: 1_000, burst: 3_000 },
  userLogins: { perSecond: 1, burst: 10 },
  ipLogins: { perSecond: 10, burst: 100 },
  userRequests: { perSecond: 50, burst: 200 },
  typing: { perSecond: 5, burst: 10 },
  violationLimit: 10,
  violationWindowMs: 10_000,
  userRetentionMs: 90 * DAY,
})

export interface RelayServerOptions {
  /** Where connections come from: a listener from @keypin/server `listen()`. */
  listener: Listener
  /** SQLite database file, or ':memory:' (nothing survives a restart). */
  databasePath: string
  limits?: Partial<RelayLimits>
  /** Receives structured log entries; default: JSON lines on stderr; false: silent. */
  logger?: RelayLogger | false
  /** Clock (ms since epoch); tests inject one to move time. */
  now?: () => number
  /**
   * SQLite durability. 'normal' (default) survives a killed process (WAL);
   * 'full' also survives power loss, at the cost of an fsync per commit.
   */
  synchronous?: 'normal' | 'full'
}

function invalid(message: string): never {
  throw new RelayError('invalid-argument', message)
}

function checkNumber(name: string, value: unknown, min: number, max: number, integer = true): void {
  if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    invalid(`limits.${name} must be ${integer ? 'an integer' : 'a finite number'}`)
  }
  if (value < min || value > max) invalid(`limits.${name} must be between ${min} and ${max}, got ${value}`)
}

function checkRate(name: string, value: unknown): void {
  if (typeof value !== 'object' || value === null) invalid(`limits.${name} must be { perSecond, burst }`)
  const spec = value as Record<string, unknown>
  checkNumber(`${name}.perSecond`, spec['perSecond'], 0.001, 1e9, false)
  checkNumber(`${name}.burst`, spec['burst'], 1, 1e9, false)
}

const RATE_NAMES = ['userMessages', 'ipMessages', 'userLogins', 'ipLogins', 'userRequests', 'typing'] as const

/** Merges `limits` over the defaults and checks every value. */
export function resolveLimits(limits: Partial<RelayLimits> | undefined): RelayLimits {
  if (limits !== undefined && (typeof limits !== 'object' || limits === null)) invalid('limits must be an object')
  for (const key of Object.keys(limits ?? {})) {
    if (!Object.hasOwn(DEFAULT_LIMITS, key)) invalid(`limits.${key} is not a relay limit`)
  }
  const merged: RelayLimits = { ...DEFAULT_LIMITS, ...limits }
  const YEAR = 365 * DAY
  checkNumber('maxFrameBytes', merged.maxFrameBytes, 4096, MAX_FRAME_BYTES)
  // A message must fit its frame after base64url (4/3) and the JSON envelope.
  const maxMessage = Math.floor(((merged.maxFrameBytes - 1024) * 3) / 4)
  checkNumber('maxMessageBytes', merged.maxMessageBytes, 256, maxMessage)
  checkNumber('loginTimeoutMs', merged.loginTimeoutMs, 1, 10 * 60_000)
  checkNumber('maxQueuePerUser', merged.maxQueuePerUser, 1, 1_000_000)
  checkNumber('messageTtlMs', merged.messageTtlMs, 1, YEAR)
  checkNumber('sweepIntervalMs', merged.sweepIntervalMs, 1, DAY)
  checkNumber('maxRoomTtlMs', merged.maxRoomTtlMs, 1, YEAR)
  checkNumber('maxRoomMembers', merged.maxRoomMembers, 2, 10_000)
  checkNumber('maxRoomsPerUser', merged.maxRoomsPerUser, 1, 100_000)
  checkNumber('maxOutboundBytes', merged.maxOutboundBytes, 2 * MAX_FRAME_BYTES, 1024 * 1024 * 1024)
  checkNumber('maxInflight', merged.maxInflight, 1, 100_000)
  for (const name of RATE_NAMES) checkRate(name, merged[name])
  checkNumber('violationLimit', merged.violationLimit, 1, 1_000_000)
  checkNumber('violationWindowMs', merged.violationWindowMs, 1, DAY)
  checkNumber('userRetentionMs', merged.userRetentionMs, 1, 100 * YEAR)
  return merged
}

/** Checks the options object of startRelay. */
export function checkOptions(options: RelayServerOptions): void {
  if (typeof options !== 'object' || options === null) invalid('startRelay needs an options object')
  const listener = options.listener as Partial<Listener> | undefined
  if (!listener || typeof listener.accept !== 'function' || typeof listener.certhash !== 'string') {
    invalid('options.listener must be a Listener from @keypin/server listen()')
  }
  if (typeof options.databasePath !== 'string' || options.databasePath === '') {
    invalid("options.databasePath must be a file path or ':memory:'")
  }
  if (options.logger !== undefined && options.logger !== false && typeof options.logger !== 'function') {
    invalid('options.logger must be a function receiving log entries, or false')
  }
  if (options.now !== undefined && typeof options.now !== 'function') invalid('options.now must be a function returning ms')
  if (options.synchronous !== undefined && options.synchronous !== 'normal' && options.synchronous !== 'full') {
    invalid("options.synchronous must be 'normal' or 'full'")
  }
}
