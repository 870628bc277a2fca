/**
 * Flow-control arithmetic for the WebRTC mapping: how much a sender may
 * still send, how much a receiver has granted and when it should grant more,
 * and how many streams the peer may open. QUIC does this inside the
 * protocol; data channels deliver every message whether or not the
 * application reads, so the adapter has to do it end to end.
 *
 * Pure bookkeeping: no channels, no frames, no timers. The adapter decides
 * what to send; these classes only say whether and how much.
 */

/** The sending side of one credit (a stream's bytes, or the connection's). */
export class SendCredit {
  #limit: number
  #used = 0

  constructor(initialLimit = 0) {
    this.#limit = initialLimit
  }

  /** Absolute limit granted by the peer so far. */
  get limit(): number {
    return this.#limit
  }

  get used(): number {
    return this.#used
  }

  /** How many more units may be sent now. */
  get available(): number {
    return Math.max(0, this.#limit - this.#used)
  }

  /**
   * Applies an absolute limit from the peer. Limits only grow: a smaller one
   * arriving late (or reordered) is ignored. Returns true when the limit grew.
   */
  raise(limit: number): boolean {
    if (limit <= this.#limit) return false
    this.#limit = limit
    return true
  }

  /** Records `amount` units sent; the caller has checked `available`. */
  use(amount: number): void {
    this.#used += amount
  }
}

/**
 * The receiving side of one credit. The receiver announced `limit` (bytes the
 * peer may send in total); bytes count as consumed once they have left the
 * adapter (handed to the application or discarded). More credit is granted
 * when the unused part of the window falls to half of it, so updates are
 * neither per message nor so rare that the sender idles.
 */
export class ReceiveWindow {
  readonly window: number
  #limit: number
  #received = 0
  #consumed = 0

  constructor(window: number) {
    this.window = window
    this.#limit = window
  }

  /** The absolute limit announced to the peer so far. */
  get limit(): number {
    return this.#limit
  }

  get received(): number {
    return this.#received
  }

  get consumed(): number {
    return this.#consumed
  }

  /** Bytes received but not consumed yet (what the adapter is holding). */
  get buffered(): number {
    return this.#received - this.#consumed
  }

  /**
   * Records `amount` more bytes from the peer. Returns false, recording
   * nothing, when they go beyond the announced limit: a flow-control
   * violation, which the caller turns into a protocol error.
   */
  receive(amount: number): boolean {
    if (this.#received + amount > this.#limit) return false
    this.#received += amount
    return true
  }

  /** Records `amount` bytes consumed. Returns the new limit to announce, if an update is due. */
  consume(amount: number): number | undefined {
    this.#consumed = Math.min(this.#received, this.#consumed + amount)
    return this.update()
  }

  /**
   * The new absolute limit to announce now, if an update is due (recorded as
   * announced). Ask after `consume`, and after `receive` too.
   *
   * An update is due when half the window has been consumed since the last
   * one, or when the peer has less than half a window of credit left that
   * it has not used yet and a grant would give it more. The second rule
   * matters for a connection window shared by streams: bytes parked on
   * streams nobody reads count as received but never as consumed, so the
   * first rule alone can leave the sender at zero credit while the stream
   * being read has nothing more to consume. (Like QUIC, no rule helps when
   * the parked streams can absorb the whole connection window.)
   */
  update(): number | undefined {
    const halfConsumed = this.#limit - this.#consumed <= this.window / 2
    const senderStarved = this.#limit - this.#received < this.window / 2
    if (!halfConsumed && !senderStarved) return undefined
    const next = this.#consumed + this.window
    if (next <= this.#limit) return undefined
    this.#limit = next
    return next
  }
}

/**
 * How many streams the peer may open: an absolute count that grows as the
 * peer's streams finish, so at most `window` of them are open at once. Like
 * ReceiveWindow, an update is due once the peer has half the window or less
 * left, which keeps MAX_STREAMS messages rare without starving the peer.
 */
export class IncomingStreamLimit {
  readonly window: number
  #limit: number
  #opened = 0
  #finished = 0

  constructor(window: number) {
    this.window = window
    this.#limit = window
  }

  get limit(): number {
    return this.#limit
  }

  get opened(): number {
    return this.#opened
  }

  /**
   * Records a stream the peer opened. Returns false, recording nothing, when
   * it exceeds the limit. Ask `update` afterwards: opening can make an
   * update due when streams finished earlier without one.
   */
  open(): boolean {
    if (this.#opened >= this.#limit) return false
    this.#opened++
    return true
  }

  /** Records a peer stream that is over. Returns the new limit to announce, if an update is due. */
  finish(): number | undefined {
    this.#finished = Math.min(this.#opened, this.#finished + 1)
    return this.update()
  }

  /** The new limit to announce now, if an update is due (recorded as announced). */
  update(): number | undefined {
    if (this.#limit - this.#opened > this.window / 2) return undefined
    const next = this.#finished + this.window
    if (next <= this.#limit) return undefined
    this.#limit = next
    return next
  }
}
