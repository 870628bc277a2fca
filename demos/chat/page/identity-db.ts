/**
 * The page's IndexedDB database. It keeps the user's Ed25519 identity (the
 * secret key never leaves this browser profile), the relay client's state
 * and the page's own small records (contacts, rooms). A fresh profile gets
 * a fresh identity; the same profile keeps its user id across reloads.
 */
import { generateIdentity, identityFromSecret, type IdentityKeyPair } from '@keypin/relay'

const DATABASE = 'keypin-chat'
const VERSION = 1

/** Object stores, each with out-of-line string keys. */
export type StoreName = 'identity' | 'relay-state' | 'app'
const STORES: readonly StoreName[] = ['identity', 'relay-state', 'app']

const SELF = 'self'

export class ChatDatabase {
  readonly #db: IDBDatabase

  private constructor(db: IDBDatabase) {
    this.#db = db
  }

  static async open(): Promise<ChatDatabase> {
    if (typeof indexedDB === 'undefined') throw new Error('this browser has no IndexedDB, so it cannot keep an identity')
    const request = indexedDB.open(DATABASE, VERSION)
    request.onupgradeneeded = () => {
      const db = request.result
      for (const name of STORES) if (!db.objectStoreNames.contains(name)) db.createObjectStore(name)
    }
    const db = await settle(request)
    // Another tab upgrading the schema: step aside instead of blocking it.
    db.onversionchange = () => db.close()
    return new ChatDatabase(db)
  }

  async get<T>(store: StoreName, key: string): Promise<T | undefined> {
    const transaction = this.#db.transaction(store, 'readonly')
    return (await settle(transaction.objectStore(store).get(key))) as T | undefined
  }

  async set(store: StoreName, key: string, value: unknown): Promise<void> {
    const transaction = this.#db.transaction(store, 'readwrite')
    transaction.objectStore(store).put(value, key)
    await committed(transaction)
  }

  async delete(store: StoreName, key: string): Promise<void> {
    const transaction = this.#db.transaction(store, 'readwrite')
    transaction.objectStore(store).delete(key)
    await committed(transaction)
  }

  /**
   * The user's identity: loaded when this profile has one, else generated
   * and stored. Two tabs racing on a fresh profile both end with the one
   * that was written first (the write only happens when the key is absent).
   */
  async loadOrCreateIdentity(): Promise<IdentityKeyPair> {
    const existing = await this.get<Uint8Array>('identity', SELF)
    if (existing instanceof Uint8Array) return identityFromSecret(existing)
    const fresh = generateIdentity()
    const transaction = this.#db.transaction('identity', 'readwrite')
    const store = transaction.objectStore('identity')
    const current = await settle(store.get(SELF))
    let secret = fresh.secretKey
    if (current instanceof Uint8Array) secret = current
    else store.put(fresh.secretKey, SELF)
    await committed(transaction)
    return secret === fresh.secretKey ? fresh : identityFromSecret(secret)
  }

  close(): void {
    this.#db.close()
  }
}

function settle<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    request.onsuccess = () => resolve(request.result)
    request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'))
  })
}

function committed(transaction: IDBTransaction): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    transaction.oncomplete = () => resolve()
    transaction.onerror = () => reject(transaction.error ?? new Error('IndexedDB transaction failed'))
    transaction.onabort = () => reject(transaction.error ?? new Error('IndexedDB transaction aborted'))
  })
}
