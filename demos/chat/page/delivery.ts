/**
 * Delivery tracking for outgoing messages. The relay gives each stored copy
 * an id and later sends a receipt with that id when the recipient's device
 * has it. A receipt can overtake the reply to the send itself (the
 * recipient was online and fast), so receipts for ids not seen yet are kept
 * until the reply names them.
 */
import type { SentMessage } from '@keypin/relay'
import type { MessageEntry } from './conversation.js'

/** Receipts kept for ids no send has claimed yet, at most (oldest dropped first). */
const MAX_EARLY_RECEIPTS = 1000

export class Deliveries {
  readonly #pending = new Map<string, MessageEntry>()
  readonly #early = new Set<string>()

  /** The relay stored the message's copies: the entry becomes stored, or delivered if every copy already arrived. */
  stored(entry: MessageEntry, copies: readonly SentMessage[]): void {
    entry.recipients = copies.length
    entry.deliveredTo = 0
    entry.state = 'stored'
    for (const copy of copies) {
      if (copy.state === 'delivered' || this.#early.delete(copy.id)) entry.deliveredTo++
      else this.#pending.set(copy.id, entry)
    }
    if (copies.length > 0 && entry.deliveredTo === copies.length) entry.state = 'delivered'
  }

  /** A receipt for one copy; true when it changed an entry. */
  receipt(id: string): boolean {
    const entry = this.#pending.get(id)
    if (!entry) {
      this.#early.add(id)
      if (this.#early.size > MAX_EARLY_RECEIPTS) this.#early.delete(this.#early.values().next().value as string)
      return false
    }
    this.#pending.delete(id)
    entry.deliveredTo = (entry.deliveredTo ?? 0) + 1
    if (entry.deliveredTo >= (entry.recipients ?? 1)) entry.state = 'delivered'
    return true
  }

  failed(entry: MessageEntry, error: unknown): void {
    entry.state = 'failed'
    entry.error = error instanceof Error ? error.message : String(error)
  }
}
