/**
 * Small promise plumbing for the engine: a FIFO of pending waiters that can
 * be woken one at a time or failed together, each honouring an AbortSignal.
 * Not a general event emitter: exactly what accept/open queues need.
 */

interface Waiter<T> {
  resolve(value: T): void
  reject(error: unknown): void
}

/** Throws the signal's reason if it has already fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason
}

/** Parks a waiter in `list` until it is settled or `signal` fires. */
function park<T>(list: Waiter<T>[], signal: AbortSignal | undefined): Promise<T> {
  if (signal?.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      const index = list.indexOf(waiter)
      if (index >= 0) list.splice(index, 1)
      reject(signal?.reason)
    }
    const waiter: Waiter<T> = {
      resolve: (value) => {
        signal?.removeEventListener('abort', onAbort)
        resolve(value)
      },
      reject: (error) => {
        signal?.removeEventListener('abort', onAbort)
        reject(error)
      },
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    list.push(waiter)
  })
}

/** A queue of values paired with a queue of waiters (for accept-style APIs). */
export class WaitQueue<T> {
  readonly #items: T[] = []
  readonly #waiters: Waiter<T>[] = []
  #error: unknown = undefined
  #failed = false

  get size(): number {
    return this.#items.length
  }

  push(item: T): void {
    const waiter = this.#waiters.shift()
    if (waiter) waiter.resolve(item)
    else this.#items.push(item)
  }

  /** Next item; waits for one. Rejects once the queue has failed and is empty. */
  next(signal?: AbortSignal): Promise<T> {
    if (this.#items.length > 0) return Promise.resolve(this.#items.shift() as T)
    if (this.#failed) return Promise.reject(this.#error)
    return park(this.#waiters, signal)
  }

  /** Fail every current and future waiter; queued items are returned for disposal. */
  fail(error: unknown): T[] {
    this.#failed = true
    this.#error = error
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error)
    return this.#items.splice(0)
  }
}

/** A level-triggered wake-up: waiters sleep until `wake()` or failure. */
export class Signal {
  readonly #waiters: Waiter<void>[] = []

  wait(signal?: AbortSignal): Promise<void> {
    return park(this.#waiters, signal)
  }

  wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter.resolve()
  }

  fail(error: unknown): void {
    for (const waiter of this.#waiters.splice(0)) waiter.reject(error)
  }
}

/** A promise whose settle functions are exposed, marked handled so it never crashes a process. */
export function deferred<T>(): { promise: Promise<T>; resolve(value: T): void; reject(error: unknown): void } {
  let resolve!: (value: T) => void
  let reject!: (error: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  promise.catch(() => {})
  return { promise, resolve, reject }
}
