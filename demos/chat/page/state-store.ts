/**
 * The relay client's persistent state (a {@link ClientStateStore}) in the
 * page's IndexedDB. Keys are namespaced by the relay's certhash, so state
 * kept for one relay is never handed to another.
 */
import type { ClientStateStore } from '@keypin/relay'
import type { ChatDatabase } from './identity-db.js'

export class IndexedDbStateStore implements ClientStateStore {
  readonly #db: ChatDatabase
  readonly #prefix: string

  constructor(db: ChatDatabase, certhash: string) {
    this.#db = db
    this.#prefix = `${certhash}/`
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const value = await this.#db.get<unknown>('relay-state', this.#prefix + key)
    return value instanceof Uint8Array ? value : undefined
  }

  async set(key: string, value: Uint8Array): Promise<void> {
    // A copy: the caller may reuse its buffer after the promise settles.
    await this.#db.set('relay-state', this.#prefix + key, value.slice())
  }

  async delete(key: string): Promise<void> {
    await this.#db.delete('relay-state', this.#prefix + key)
  }
}
