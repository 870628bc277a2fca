/**
 * Delivery to one logged-in session: queued messages go out in store order
 * (oldest first), at most `maxInflight` unacknowledged at a time, and never
 * while the session's outbound queue is congested. Messages arriving for an
 * online user go out at once when nothing older is waiting; otherwise they
 * wait in the store and the cursor reaches them.
 *
 * The cursor is the highest sequence number sent on this session. A new
 * session starts at 0, so everything unacknowledged is delivered again
 * after a reconnect (clients drop duplicates by message id).
 */
import type { MessageFrame } from '../protocol/messages.js'
import type { RelayContext } from './context.js'
import type { Session } from './session.js'
import type { QueuedMessage } from './store.js'

export class Delivery {
  readonly #ctx: RelayContext
  readonly #session: Session
  readonly #user: string
  /** Delivered, not yet acknowledged: key "sender id" -> sequence number. */
  readonly #inflight = new Map<string, number>()
  #cursor = 0
  /** True while the store may hold messages past the cursor. */
  #backlog = true
  #stopped = false
  #pumping = false

  constructor(ctx: RelayContext, session: Session) {
    this.#ctx = ctx
    this.#session = session
    this.#user = (session.user as { id: string }).id
  }

  get inflight(): number {
    return this.#inflight.size
  }

  #full(): boolean {
    return this.#inflight.size >= this.#ctx.limits.maxInflight || this.#session.congested
  }

  /** A message for this user was just stored. */
  offer(message: QueuedMessage): void {
    // Already sent: a resume() that ran between the commit and this callback read it from the store.
    if (this.#stopped || message.seq <= this.#cursor) return
    if (this.#backlog || this.#full()) {
      this.#backlog = true
      return
    }
    this.#send(message)
  }

  /** Sends what the store holds past the cursor, while there is room. */
  resume(): void {
    if (this.#stopped || !this.#backlog || this.#pumping) return
    this.#pumping = true
    try {
      const { store, limits, now } = this.#ctx
      for (;;) {
        if (this.#stopped || this.#full()) return
        const want = Math.min(64, limits.maxInflight - this.#inflight.size)
        const rows = store.queuedFor(this.#user, this.#cursor, now(), want)
        for (const row of rows) {
          // The window or the outbound queue can fill part-way through a batch.
          if (this.#stopped || this.#full()) return
          this.#send(row)
        }
        if (rows.length < want) {
          this.#backlog = false
          return
        }
      }
    } finally {
      this.#pumping = false
    }
  }

  /** The sequence number of an in-flight message, removed from the window; undefined if unknown. */
  acknowledge(sender: string, id: string): number | undefined {
    const key = `${sender} ${id}`
    const seq = this.#inflight.get(key)
    if (seq !== undefined) this.#inflight.delete(key)
    return seq
  }

  stop(): void {
    this.#stopped = true
    this.#inflight.clear()
  }

  #send(message: QueuedMessage): void {
    this.#inflight.set(`${message.sender} ${message.id}`, message.seq)
    if (message.seq > this.#cursor) this.#cursor = message.seq
    const frame: MessageFrame = {
      t: 'message',
      from: message.sender,
      fromKey: message.senderKey,
      id: message.id,
      context: message.context,
      message: message.body,
      storedAt: message.storedAt,
    }
    this.#session.send(frame)
  }
}
