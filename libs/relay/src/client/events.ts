/**
 * A tiny typed event emitter. A listener that throws does not stop the
 * others; its error is rethrown on a later turn (like a DOM event
 * listener's), so it is reported instead of swallowed.
 */
export class Emitter<Events extends Record<string, unknown>> {
  readonly #listeners = new Map<keyof Events, Set<(event: never) => void>>()

  on<K extends keyof Events>(event: K, listener: (e: Events[K]) => void): () => void {
    let set = this.#listeners.get(event)
    if (!set) {
      set = new Set()
      this.#listeners.set(event, set)
    }
    const entry = listener as (event: never) => void
    set.add(entry)
    return () => {
      set.delete(entry)
    }
  }

  emit<K extends keyof Events>(event: K, value: Events[K]): void {
    const set = this.#listeners.get(event)
    if (!set) return
    for (const listener of [...set]) {
      try {
        ;(listener as (e: Events[K]) => void)(value)
      } catch (error) {
        setTimeout(() => {
          throw error
        }, 0)
      }
    }
  }

  listenerCount(event: keyof Events): number {
    return this.#listeners.get(event)?.size ?? 0
  }
}
