/**
 * Keeps one relay connection up: dial the address over WebRTC, open the relay
 * client on the connection, and when either fails or later closes, try
 * again with exponential backoff (with jitter) until stopped. A bad address
 * is the one failure that is not retried: it cannot start working by itself.
 */
import { KeypinError, parseAddress, type Connection, type KeypinAddress } from '@keypin/core'
import { dial } from '@keypin/webrtc-client'
import { RelayError, connectRelay, type ClientStateStore, type IdentityKeyPair, type RelayClient } from '@keypin/relay'

export interface ProblemInfo {
  /** The error's stable code (`invalid-address`, `timeout`, `pin-mismatch`, a relay code, ...). */
  readonly code: string
  readonly message: string
}

export type ConnectionStatus =
  | { readonly state: 'idle' }
  | { readonly state: 'connecting'; readonly attempt: number; readonly lastProblem?: ProblemInfo }
  | { readonly state: 'connected'; readonly client: RelayClient }
  | { readonly state: 'waiting'; readonly attempt: number; readonly retryAt: number; readonly problem: ProblemInfo }
  | { readonly state: 'failed'; readonly problem: ProblemInfo }

export interface RelayConnectionOptions {
  identity: IdentityKeyPair
  /** The relay client's state for this relay (by certhash). */
  storeFor(certhash: string): ClientStateStore
  onStatus(status: ConnectionStatus): void
  /** How long one WebRTC handshake may take (ms). */
  handshakeTimeout?: number
  /** First retry delay and the cap (ms). */
  backoff?: { initial: number; max: number }
}

const DEFAULT_BACKOFF = { initial: 500, max: 15_000 }

/**
 * Parses the address the way the dialer will, so a typo is reported at
 * once with the parser's own message instead of as a dial failure.
 */
export function checkAddress(address: string): KeypinAddress | ProblemInfo {
  try {
    return parseAddress(address)
  } catch (error) {
    return problemOf(error)
  }
}

export function problemOf(error: unknown): ProblemInfo {
  if (error instanceof KeypinError || error instanceof RelayError) return { code: error.code, message: error.message }
  if (error instanceof Error) return { code: error.name, message: error.message }
  return { code: 'error', message: String(error) }
}

export class RelayConnection {
  readonly #options: RelayConnectionOptions
  #address: string | undefined
  /** Ends the current run of attempts (a new address or stop() aborts it). */
  #run: AbortController | undefined
  #wake: (() => void) | undefined

  constructor(options: RelayConnectionOptions) {
    this.#options = options
  }

  get address(): string | undefined {
    return this.#address
  }

  /** Connects to `address`, dropping any connection to another one. */
  connect(address: string): void {
    this.stop()
    this.#address = address
    const checked = checkAddress(address)
    if ('code' in checked) {
      this.#options.onStatus({ state: 'failed', problem: checked })
      return
    }
    const run = new AbortController()
    this.#run = run
    void this.#keepUp(address, checked.certhash, run.signal)
  }

  /** Skips the wait before the next attempt (a "retry now" button, the browser coming back online). */
  retryNow(): void {
    this.#wake?.()
  }

  stop(): void {
    this.#run?.abort()
    this.#run = undefined
    this.#wake?.()
    this.#options.onStatus({ state: 'idle' })
  }

  async #keepUp(address: string, certhash: string, signal: AbortSignal): Promise<void> {
    const { initial, max } = this.#options.backoff ?? DEFAULT_BACKOFF
    let failures = 0
    let lastProblem: ProblemInfo | undefined
    while (!signal.aborted) {
      const attempt = failures + 1
      this.#options.onStatus(lastProblem ? { state: 'connecting', attempt, lastProblem } : { state: 'connecting', attempt })
      let client: RelayClient
      try {
        client = await this.#open(address, certhash, signal)
      } catch (error) {
        if (signal.aborted) return
        failures++
        lastProblem = problemOf(error)
        const hinted = error instanceof RelayError ? (error.retryAfterMs ?? 0) : 0
        const delay = Math.max(hinted, jitter(Math.min(max, initial * 2 ** (failures - 1))))
        this.#options.onStatus({ state: 'waiting', attempt: failures + 1, retryAt: Date.now() + delay, problem: lastProblem })
        await this.#sleep(delay, signal)
        continue
      }
      failures = 0
      lastProblem = undefined
      this.#options.onStatus({ state: 'connected', client })
      const ended = await closedOrAborted(client, signal)
      if (signal.aborted) {
        await client.close().catch(() => {})
        return
      }
      lastProblem = ended ?? { code: 'closed', message: 'the relay closed the connection' }
      // A connection that just ended is retried after the first backoff step,
      // not at once: a relay restarting needs a moment to come back.
      failures = 1
      const delay = jitter(initial)
      this.#options.onStatus({ state: 'waiting', attempt: 2, retryAt: Date.now() + delay, problem: lastProblem })
      await this.#sleep(delay, signal)
    }
  }

  async #open(address: string, certhash: string, signal: AbortSignal): Promise<RelayClient> {
    const options = { signal, ...(this.#options.handshakeTimeout ? { handshakeTimeout: this.#options.handshakeTimeout } : {}) }
    const connection: Connection = await dial(address, options)
    try {
      return await connectRelay(connection, {
        identity: this.#options.identity,
        certhash,
        store: this.#options.storeFor(certhash),
        signal,
      })
    } catch (error) {
      await connection.close({ code: 'cancelled' }).catch(() => {})
      throw error
    }
  }

  #sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        signal.removeEventListener('abort', done)
        if (this.#wake === done) this.#wake = undefined
        resolve()
      }
      const timer = setTimeout(done, ms)
      signal.addEventListener('abort', done, { once: true })
      this.#wake = done
    })
  }
}

/** Resolves when the client's connection ends (with why, if it failed) or the run is aborted. */
function closedOrAborted(client: RelayClient, signal: AbortSignal): Promise<ProblemInfo | undefined> {
  return new Promise((resolve) => {
    let off = (): void => {}
    const onAbort = (): void => {
      off()
      resolve(undefined)
    }
    off = client.on('close', (event) => {
      signal.removeEventListener('abort', onAbort)
      off()
      resolve(event.error ? problemOf(event.error) : undefined)
    })
    signal.addEventListener('abort', onAbort, { once: true })
    // In case the connection ended before the listener was attached; a turn
    // later, so that the close event (which carries the error) wins a tie.
    client.closed.then(
      () => setTimeout(() => resolve(undefined), 0),
      (error: unknown) => setTimeout(() => resolve(problemOf(error)), 0),
    )
  })
}

/** ±20 % so that many pages do not retry in lockstep after a relay restart. */
function jitter(ms: number): number {
  return Math.round(ms * (0.8 + Math.random() * 0.4))
}
