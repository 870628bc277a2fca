/**
 * Checks a login frame against the challenge this connection was given:
 * the signature must cover this relay's certhash and the nonce issued on
 * this connection, and the prekey must be signed by the same identity.
 * Pure: no state, no I/O. The session consumes the nonce whatever the outcome.
 */
import { fromBase64url } from '../protocol/base64url.js'
import type { LoginRequest, WirePrekey } from '../protocol/messages.js'
import { userIdOf, verifyLogin, verifyPrekey, type SignedPrekey } from '../crypto/index.js'

export type LoginCheck =
  | { ok: true; user: string; publicKey: string; prekey: WirePrekey }
  | { ok: false; reason: 'malformed' | 'bad-signature' | 'bad-prekey' }

export function decodePrekey(prekey: WirePrekey): SignedPrekey | undefined {
  const publicKey = fromBase64url(prekey.publicKey)
  const signature = fromBase64url(prekey.signature)
  if (!publicKey || !signature) return undefined
  return { id: prekey.id, publicKey, createdAt: prekey.createdAt, signature }
}

export function checkLogin(frame: LoginRequest, challenge: { certhash: string; nonce: Uint8Array }): LoginCheck {
  const publicKey = fromBase64url(frame.publicKey)
  const signature = fromBase64url(frame.signature)
  const prekey = decodePrekey(frame.prekey)
  if (!publicKey || !signature || !prekey) return { ok: false, reason: 'malformed' }
  if (!verifyLogin(publicKey, challenge, signature)) return { ok: false, reason: 'bad-signature' }
  if (!verifyPrekey(publicKey, prekey)) return { ok: false, reason: 'bad-prekey' }
  return { ok: true, user: userIdOf(publicKey), publicKey: frame.publicKey, prekey: frame.prekey }
}
