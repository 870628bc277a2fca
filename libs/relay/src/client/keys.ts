/**
 * Contact keys: a user's identity key and current signed prekey, fetched
 * from the relay's directory and verified before anything is sealed to
 * them. The user id must be the hash of the identity key (ids are
 * self-certifying), the key must be the one first seen for that id (trust
 * on first use, remembered in the state store), and the prekey must be
 * signed by it. Verified keys are cached for a minute; concurrent lookups
 * of one user share one request.
 */
import { userIdOf, verifyPrekey, type SignedPrekey } from '../crypto/index.js'
import { toBase64url } from '../protocol/base64url.js'
import { FieldReader } from '../protocol/check.js'
import { RelayError } from '../protocol/errors.js'
import type { WirePrekey } from '../protocol/messages.js'
import type { ClientState } from './state.js'

/** How long fetched contact keys are used before they are fetched again. */
const KEY_CACHE_MS = 60_000

export interface ContactKeys {
  identityKey: Uint8Array
  prekey: SignedPrekey
  fetchedAt: number
}

export class KeyDirectory {
  readonly #state: ClientState
  readonly #request: (frame: Record<string, unknown> & { t: string }) => Promise<FieldReader>
  readonly #cache = new Map<string, ContactKeys>()
  readonly #fetches = new Map<string, Promise<ContactKeys>>()

  constructor(state: ClientState, request: (frame: Record<string, unknown> & { t: string }) => Promise<FieldReader>) {
    this.#state = state
    this.#request = request
  }

  /** Verified keys of `user`. Rejects with `unknown-user`, `bad-key`, or a FrameError for a malformed reply. */
  get(user: string): Promise<ContactKeys> {
    const cached = this.#cache.get(user)
    if (cached && Date.now() - cached.fetchedAt < KEY_CACHE_MS) return Promise.resolve(cached)
    let fetching = this.#fetches.get(user)
    if (!fetching) {
      fetching = this.#fetch(user).finally(() => this.#fetches.delete(user))
      this.#fetches.set(user, fetching)
    }
    return fetching
  }

  async #fetch(user: string): Promise<ContactKeys> {
    const reply = await this.#request({ t: 'keys', user })
    if (reply.userId('user') !== user) throw new RelayError('protocol-error', 'the relay answered with keys of another user')
    const keys = await this.verify(user, reply.bytes('publicKey', 32, 32), readWirePrekey(reply.object('prekey')))
    this.#cache.set(user, keys)
    return keys
  }

  /** Checks keys the relay gave for `user` (from `keys` or `room-members`); throws `bad-key`. */
  async verify(user: string, identityKey: Uint8Array, prekey: SignedPrekey): Promise<ContactKeys> {
    const publicKey = toBase64url(identityKey)
    let derived: string
    try {
      derived = userIdOf(identityKey)
    } catch {
      throw new RelayError('bad-key', `the relay returned a malformed identity key for ${user}`)
    }
    if (derived !== user) throw new RelayError('bad-key', `the identity key the relay returned for ${user} belongs to another user id`)
    const known = this.#state.contactKey(user)
    if (known !== undefined && known !== publicKey) throw new RelayError('bad-key', `the identity key of ${user} changed`)
    if (!verifyPrekey(identityKey, prekey)) throw new RelayError('bad-key', `the prekey of ${user} is not signed by their identity key`)
    if (known === undefined) await this.#state.rememberContact(user, publicKey)
    return { identityKey, prekey, fetchedAt: Date.now() }
  }
}

export function wirePrekey(prekey: SignedPrekey): WirePrekey {
  return { id: prekey.id, publicKey: toBase64url(prekey.publicKey), createdAt: prekey.createdAt, signature: toBase64url(prekey.signature) }
}

export function readWirePrekey(p: FieldReader): SignedPrekey {
  return {
    id: p.integer('id', 0, 0xffff_ffff),
    publicKey: p.bytes('publicKey', 32, 32),
    createdAt: p.integer('createdAt', 0, Number.MAX_SAFE_INTEGER),
    signature: p.bytes('signature', 64, 64),
  }
}
