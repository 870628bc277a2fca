/**
 * Incoming messages: each one the relay delivers is verified before the
 * application sees it, and acknowledged once processed.
 *
 * Verification: the relay-supplied sender key must hash to the sender id
 * (and match the key first seen for it), the sealed message must name the
 * same sender and id as the frame, it must open for this identity with the
 * context the frame claims (signature, recipient, AEAD), and the replay
 * guard must not have seen it. A message that fails any check is emitted as
 * `rejected` with the reason, never as `direct` or `room`.
 *
 * Acknowledgements go out in batches, after the replay guard has been
 * saved, so an acknowledged message can never be accepted again.
 */
import { decodeSealed, openMessage, RelayCryptoError, userIdOf, type IdentityKeyPair } from '../crypto/index.js'
import { toBase64url } from '../protocol/base64url.js'
import { FieldReader, FrameError } from '../protocol/check.js'
import { DM_CONTEXT, roomOfContext } from '../protocol/limits.js'
import type { RelayEvents } from './api.js'
import type { ControlChannel } from './control.js'
import type { Emitter } from './events.js'
import type { ClientState } from './state.js'

const strictUtf8 = new TextDecoder('utf-8', { fatal: true })

type Opened = { ok: true; text: string; sentAt: number; context: string } | { ok: false; reason: string }

export class Inbox {
  readonly #identity: IdentityKeyPair
  readonly #state: ClientState
  readonly #events: Emitter<RelayEvents>
  readonly #channel: () => ControlChannel | undefined
  #acks: { from: string; id: string }[] = []
  #timer: ReturnType<typeof setTimeout> | undefined

  constructor(identity: IdentityKeyPair, state: ClientState, events: Emitter<RelayEvents>, channel: () => ControlChannel | undefined) {
    this.#identity = identity
    this.#state = state
    this.#events = events
    this.#channel = channel
  }

  /** A `message` frame. Throws FrameError only when its sender or id is unreadable (nothing to acknowledge). */
  receive(f: FieldReader): void {
    const from = f.userId('from')
    const id = f.messageId('id')
    const outcome = this.#open(f, from, id)
    if (outcome.ok) {
      const room = roomOfContext(outcome.context)
      if (room) this.#events.emit('room', { roomId: room, id, from, text: outcome.text, sentAt: outcome.sentAt })
      else this.#events.emit('direct', { id, from, text: outcome.text, sentAt: outcome.sentAt })
    } else {
      this.#events.emit('rejected', { id, from, reason: outcome.reason })
    }
    this.#acks.push({ from, id })
    this.#timer ??= setTimeout(() => void this.flush(), 0)
  }

  /** Verifies one delivered message. Never throws: every failure is a reason. */
  #open(f: FieldReader, from: string, id: string): Opened {
    try {
      const fromKey = f.bytes('fromKey', 32, 32)
      const bytes = f.bytes('message', Number.MAX_SAFE_INTEGER)
      const context = f.string('context', 300)
      if (context !== DM_CONTEXT && roomOfContext(context) === undefined) return { ok: false, reason: 'bad-input' }
      if (userIdOf(fromKey) !== from) return { ok: false, reason: 'bad-sender' }
      const known = this.#state.contactKey(from)
      const fromKeyText = toBase64url(fromKey)
      if (known !== undefined && known !== fromKeyText) return { ok: false, reason: 'bad-sender' }
      const message = decodeSealed(bytes)
      if (message.from !== from) return { ok: false, reason: 'bad-sender' }
      if (message.id !== id) return { ok: false, reason: 'tampered' }
      const plaintext = openMessage({
        recipient: this.#identity,
        senderIdentityKey: fromKey,
        prekeySecret: (prekeyId) => this.#state.prekeySecret(prekeyId),
        message,
        expectedContext: context,
      })
      const verdict = this.#state.guard.check(message.from, message.id, message.sentAt)
      if (verdict !== 'ok') return { ok: false, reason: verdict }
      let text: string
      try {
        text = strictUtf8.decode(plaintext)
      } catch {
        return { ok: false, reason: 'bad-input' }
      }
      if (known === undefined) void this.#state.rememberContact(from, fromKeyText).catch(() => {})
      return { ok: true, text, sentAt: message.sentAt, context }
    } catch (error) {
      if (error instanceof RelayCryptoError) return { ok: false, reason: error.code }
      if (error instanceof FrameError) return { ok: false, reason: 'bad-input' }
      return { ok: false, reason: 'bad-input' }
    }
  }

  /** Saves the replay guard, then acknowledges every processed message. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#acks.length === 0) return
    const acks = this.#acks
    this.#acks = []
    try {
      await this.#state.saveGuard()
    } catch {
      // Not saved: do not acknowledge; the relay delivers these again next time.
      return
    }
    const channel = this.#channel()
    if (!channel || channel.isClosed) return
    for (const ack of acks) void channel.send({ t: 'ack', from: ack.from, id: ack.id }).catch(() => {})
  }

  stop(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
  }
}
