/**
 * Direct messages and the shared path every message takes: admission
 * (rate limits, queue cap), durable storage, forwarding to an online
 * recipient, acknowledgement, deletion and the sender's receipt, and the
 * sweep of expired messages.
 *
 * The relay treats a message as opaque: it reads only the frame's header
 * fields (from, to, id, context) and stores the body as it came.
 */
import type { ProtocolErrorCode } from '../protocol/errors.js'
import { DM_CONTEXT } from '../protocol/limits.js'
import type { AckFrame, SendRequest } from '../protocol/messages.js'
import type { RelayContext } from './context.js'
import type { Session, SessionUser } from './session.js'
import { SWEEP_CHUNK, type QueuedMessage } from './store.js'

export type AcceptResult = 'stored' | ProtocolErrorCode

/** Recently recorded contact pairs, so the store is asked only for new ones. */
const CONTACT_MEMORY = 50_000

export class Messaging {
  readonly #ctx: () => RelayContext
  /** Stored plus in-transit messages per recipient, for the queue cap. */
  #counts = new Map<string, number>()
  #total = 0
  #routed = 0
  #delivered = 0
  readonly #contacts = new Set<string>()

  constructor(ctx: () => RelayContext) {
    this.#ctx = ctx
  }

  /** Loads the queue sizes from the store (at startup). */
  load(): void {
    const { store, metrics } = this.#ctx()
    this.#counts = store.queueCounts()
    this.#total = 0
    for (const count of this.#counts.values()) this.#total += count
    metrics.messagesQueued.set(this.#total)
  }

  queuedCount(user: string): number {
    return this.#counts.get(user) ?? 0
  }

  get totalQueued(): number {
    return this.#total
  }

  /** Messages accepted since start (one per recipient). */
  get routed(): number {
    return this.#routed
  }

  /** Messages acknowledged by their recipient since start. */
  get delivered(): number {
    return this.#delivered
  }

  #adjust(user: string, delta: number): void {
    const next = (this.#counts.get(user) ?? 0) + delta
    if (next <= 0) this.#counts.delete(user)
    else this.#counts.set(user, next)
  }

  /**
   * Charges the message buckets of `session` for `count` messages. False
   * when a bucket is short; the rate-limited error has then been sent.
   */
  admit(session: Session, count: number, requestId: number): boolean {
    const { buckets, metrics } = this.#ctx()
    const user = session.user as SessionUser
    const userWait = buckets.userMessages.take(user.id, count)
    const ipWait = userWait > 0 ? 0 : buckets.ipMessages.take(session.host, count)
    const wait = Math.max(userWait, ipWait)
    if (wait === 0) return true
    metrics.rateLimited.inc({ scope: userWait > 0 ? 'user-messages' : 'ip-messages' })
    metrics.messagesDropped.inc({ reason: 'rate-limited' }, count)
    session.error('rate-limited', `message rate limit reached; retry in ${wait} ms`, requestId, wait)
    return false
  }

  /** `send`: one direct message. */
  send(session: Session, frame: SendRequest): void {
    const { store, metrics } = this.#ctx()
    const user = session.user as SessionUser
    if (frame.from !== user.id) return session.error('forbidden', 'from must be the logged-in user', frame.requestId)
    if (frame.context !== DM_CONTEXT) {
      return session.error('bad-frame', `send carries direct messages (context "${DM_CONTEXT}"); use room-send for rooms`, frame.requestId)
    }
    if (!store.hasUser(frame.to)) {
      metrics.messagesDropped.inc({ reason: 'unknown-user' })
      return session.error('unknown-user', 'no such user', frame.requestId)
    }
    if (!this.admit(session, 1, frame.requestId)) return
    this.accept(session, frame.to, frame.id, DM_CONTEXT, frame.message, (result) => {
      if (result === 'stored') {
        this.#recordContact(user.id, frame.to)
        session.reply(frame.requestId, { id: frame.id, state: 'stored' })
      } else {
        session.error(result, result === 'queue-full' ? "the recipient's queue is full" : 'the message could not be stored', frame.requestId)
      }
    })
  }

  /**
   * Stores one message for `recipient` and forwards it if they are online.
   * `done` runs after the commit (or the refusal); rate limits are the caller's.
   */
  accept(sender: Session, recipient: string, id: string, context: string, body: string, done: (result: AcceptResult) => void): void {
    const { store, limits, metrics, online, now, log } = this.#ctx()
    const from = sender.user as SessionUser
    if (this.queuedCount(recipient) >= limits.maxQueuePerUser) {
      metrics.messagesDropped.inc({ reason: 'queue-full' })
      done('queue-full')
      return
    }
    this.#adjust(recipient, 1)
    const storedAt = now()
    // One object from the store's insert to the delivery (seq is filled in after the commit).
    const message: QueuedMessage = { recipient, sender: from.id, id, context, body, storedAt, expiresAt: storedAt + limits.messageTtlMs, seq: 0, senderKey: from.publicKey }
    store.insertMessage(message, (error, result) => {
      if (error || !result) {
        this.#adjust(recipient, -1)
        metrics.messagesDropped.inc({ reason: 'store-error' })
        log({ level: 'error', msg: 'storing a message failed', from: from.id, to: recipient, id, error: String(error) })
        done('internal-error')
        return
      }
      if (result.duplicate) {
        // Already stored (a retransmission): same answer, nothing new to forward.
        this.#adjust(recipient, -1)
        done('stored')
        return
      }
      this.#total++
      metrics.messagesQueued.set(this.#total)
      metrics.messagesRouted.inc()
      this.#routed++
      done('stored')
      message.seq = result.seq
      online.get(recipient)?.delivery?.offer(message)
    })
  }

  /** `ack`: the recipient has processed a message; delete it and tell the sender. */
  ack(session: Session, frame: AckFrame): void {
    const { store, metrics, online, buckets, log } = this.#ctx()
    const user = session.user as SessionUser
    const seq = session.delivery?.acknowledge(frame.from, frame.id)
    if (seq === undefined) {
      // Not in flight on this session: allowed (a late ack), but charged like a request.
      const wait = buckets.userRequests.take(user.id)
      if (wait > 0) {
        metrics.rateLimited.inc({ scope: 'user-requests' })
        return session.error('rate-limited', `request rate limit reached; retry in ${wait} ms`, undefined, wait)
      }
    }
    store.deleteMessage(user.id, frame.from, frame.id, seq, (error, deleted) => {
      if (error) {
        log({ level: 'error', msg: 'deleting a message failed', user: user.id, id: frame.id, error: String(error) })
        return
      }
      if (deleted) {
        this.#adjust(user.id, -1)
        this.#total--
        metrics.messagesQueued.set(this.#total)
        metrics.messagesDelivered.inc()
        this.#delivered++
        online.get(deleted.sender)?.send({ t: 'receipt', id: deleted.id, to: user.id, state: 'delivered' })
      }
      session.delivery?.resume()
    })
  }

  /** Deletes expired messages (in chunks) and returns how many went. */
  sweep(): number {
    const { store, metrics, now, log } = this.#ctx()
    let removed = 0
    for (;;) {
      const rows = store.deleteExpiredMessages(now())
      for (const row of rows) this.#adjust(row.recipient, -1)
      removed += rows.length
      if (rows.length < SWEEP_CHUNK) break
    }
    if (removed > 0) {
      this.#total -= removed
      metrics.messagesQueued.set(this.#total)
      metrics.messagesDropped.inc({ reason: 'expired' }, removed)
      log({ level: 'info', msg: 'expired messages deleted', count: removed })
    }
    return removed
  }

  #recordContact(a: string, b: string): void {
    if (a === b) return
    const key = a < b ? `${a} ${b}` : `${b} ${a}`
    if (this.#contacts.has(key)) return
    if (this.#contacts.size >= CONTACT_MEMORY) this.#contacts.clear()
    this.#contacts.add(key)
    this.#ctx().store.addContact(a, b)
  }
}
