/**
 * What a client keeps between sessions, in a store the application
 * provides: its prekeys (secrets included), its replay guard, and the
 * identity key it first saw for each contact (trust on first use).
 *
 * Entries are namespaced by the client's user id, so one store can serve
 * several identities. Values are UTF-8 JSON; writes are serialized.
 */
import { generatePrekey, prekeyFromSecret, ReplayGuard, type IdentityKeyPair, type PrekeyPair, type ReplayGuardOptions } from '../crypto/index.js'
import { fromBase64url, toBase64url } from '../protocol/base64url.js'
import { RelayError } from '../protocol/errors.js'

/** Persistence for a client's prekey secrets, replay guard and known contacts. */
export interface ClientStateStore {
  get(key: string): Promise<Uint8Array | undefined>
  set(key: string, value: Uint8Array): Promise<void>
  delete(key: string): Promise<void>
}

/** A store that lives as long as the object (tests, throwaway identities). */
export class MemoryStateStore implements ClientStateStore {
  readonly #entries = new Map<string, Uint8Array>()

  async get(key: string): Promise<Uint8Array | undefined> {
    return this.#entries.get(key)?.slice()
  }

  async set(key: string, value: Uint8Array): Promise<void> {
    this.#entries.set(key, value.slice())
  }

  async delete(key: string): Promise<void> {
    this.#entries.delete(key)
  }

  /** Stored keys, for inspection. */
  keys(): string[] {
    return [...this.#entries.keys()]
  }
}

const DAY = 24 * 60 * 60 * 1000
/** A prekey older than this is replaced at the next connect (or hourly check). */
export const PREKEY_ROTATE_MS = 7 * DAY
/** Old prekey secrets are kept this long, so messages queued for them still open. */
export const PREKEY_KEEP_MS = 45 * DAY
const MAX_PREKEYS = 16

interface StoredPrekey {
  id: number
  createdAt: number
  secret: string
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value))
}

function decodeJson(bytes: Uint8Array | undefined): unknown {
  if (!bytes) return undefined
  try {
    return JSON.parse(decoder.decode(bytes))
  } catch {
    return undefined
  }
}

export class ClientState {
  readonly #store: ClientStateStore
  readonly #identity: IdentityKeyPair
  readonly #prefix: string
  #prekeys: PrekeyPair[] = []
  #rotation: Promise<PrekeyPair> | undefined
  #contacts = new Map<string, string>()
  #guard: ReplayGuard | undefined
  #writes: Promise<void> = Promise.resolve()

  constructor(store: ClientStateStore, identity: IdentityKeyPair, userId: string) {
    this.#store = store
    this.#identity = identity
    this.#prefix = `keypin-relay/${userId}/`
  }

  /** Loads everything; a corrupt entry is an error rather than a silent reset (it holds secrets). */
  async load(guardOptions: ReplayGuardOptions): Promise<void> {
    const prekeys = decodeJson(await this.#store.get(this.#prefix + 'prekeys'))
    if (prekeys !== undefined) this.#prekeys = this.#parsePrekeys(prekeys)
    const contacts = decodeJson(await this.#store.get(this.#prefix + 'contacts'))
    if (contacts !== undefined) {
      if (typeof contacts !== 'object' || contacts === null) throw corrupt('contacts')
      for (const [user, key] of Object.entries(contacts)) if (typeof key === 'string') this.#contacts.set(user, key)
    }
    const guard = decodeJson(await this.#store.get(this.#prefix + 'replay'))
    try {
      this.#guard = guard === undefined ? new ReplayGuard(guardOptions) : ReplayGuard.fromJSON(guard, guardOptions)
    } catch (cause) {
      throw new RelayError('invalid-argument', 'the stored replay guard is corrupt', { cause })
    }
  }

  #parsePrekeys(value: unknown): PrekeyPair[] {
    if (!Array.isArray(value)) throw corrupt('prekeys')
    return value.map((entry: StoredPrekey) => {
      const secret = typeof entry?.secret === 'string' ? fromBase64url(entry.secret) : undefined
      if (!secret) throw corrupt('prekeys')
      try {
        return prekeyFromSecret(this.#identity, entry.id, secret, entry.createdAt)
      } catch (cause) {
        throw new RelayError('invalid-argument', 'the stored prekeys are corrupt', { cause })
      }
    })
  }

  get guard(): ReplayGuard {
    if (!this.#guard) throw new Error('client state not loaded')
    return this.#guard
  }

  /** The newest prekey, after rotating when it is missing or older than {@link PREKEY_ROTATE_MS}. */
  currentPrekey(now: number): Promise<PrekeyPair> {
    const newest = this.#prekeys.at(-1)
    if (newest && now - newest.prekey.createdAt < PREKEY_ROTATE_MS) return Promise.resolve(newest)
    // One rotation at a time: two would make two different prekeys with the same id.
    this.#rotation ??= this.#rotate(newest, now).finally(() => {
      this.#rotation = undefined
    })
    return this.#rotation
  }

  async #rotate(newest: PrekeyPair | undefined, now: number): Promise<PrekeyPair> {
    const id = newest ? (newest.prekey.id + 1) % 0x1_0000_0000 : 1
    const fresh = generatePrekey(this.#identity, id, now)
    const kept = [...this.#prekeys.filter((pair) => now - pair.prekey.createdAt < PREKEY_KEEP_MS), fresh].slice(-MAX_PREKEYS)
    // Adopted only once saved: a prekey that could be published but whose
    // secret is not stored would make messages sealed to it unreadable after
    // a restart. A failed save leaves the old prekey current; the next check
    // tries again.
    await this.#write(
      'prekeys',
      kept.map((pair) => ({ id: pair.prekey.id, createdAt: pair.prekey.createdAt, secret: toBase64url(pair.secretKey) })),
    )
    this.#prekeys = kept
    return fresh
  }

  /** The secret of prekey `id`, if this client still holds it. */
  prekeySecret(id: number): Uint8Array | undefined {
    for (let i = this.#prekeys.length - 1; i >= 0; i--) {
      const pair = this.#prekeys[i] as PrekeyPair
      if (pair.prekey.id === id) return pair.secretKey
    }
    return undefined
  }

  /** The identity key first seen for `user` (base64url), if any. */
  contactKey(user: string): string | undefined {
    return this.#contacts.get(user)
  }

  /** Remembers the identity key of `user` (trust on first use). */
  async rememberContact(user: string, publicKey: string): Promise<void> {
    if (this.#contacts.get(user) === publicKey) return
    this.#contacts.set(user, publicKey)
    await this.#write('contacts', Object.fromEntries(this.#contacts))
  }

  /** Persists the replay guard (before acknowledging what it accepted). */
  saveGuard(): Promise<void> {
    return this.#write('replay', this.guard.toJSON())
  }

  #write(name: string, value: unknown): Promise<void> {
    const bytes = encodeJson(value)
    const next = this.#writes.then(() => this.#store.set(this.#prefix + name, bytes))
    this.#writes = next.catch(() => {})
    return next
  }
}

function corrupt(what: string): RelayError {
  return new RelayError('invalid-argument', `the stored ${what} entry is corrupt`)
}
