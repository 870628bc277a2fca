/**
 * Routes a logged-in session's requests to the part of the relay that
 * serves them, after the per-user request bucket for the ones that are not
 * messages (messages have buckets of their own).
 */
import { fromBase64url } from '../protocol/base64url.js'
import type { ClientFrame, KeysRequest, PrekeyRequest } from '../protocol/messages.js'
import { verifyPrekey } from '../crypto/index.js'
import type { RelayContext } from './context.js'
import { decodePrekey } from './login.js'
import type { Session, SessionUser } from './session.js'

export function dispatch(ctx: RelayContext, session: Session, frame: Exclude<ClientFrame, { t: 'hello' | 'login' }>): void {
  if (frame.t === 'send') return ctx.messaging.send(session, frame)
  if (frame.t === 'ack') return ctx.messaging.ack(session, frame)
  if (frame.t === 'room-send') return ctx.rooms.send(session, frame)
  const user = session.user as SessionUser
  const wait = ctx.buckets.userRequests.take(user.id)
  if (wait > 0) {
    ctx.metrics.rateLimited.inc({ scope: 'user-requests' })
    return session.error('rate-limited', `request rate limit reached; retry in ${wait} ms`, frame.requestId, wait)
  }
  switch (frame.t) {
    case 'keys':
      return keys(ctx, session, frame)
    case 'prekey':
      return prekey(ctx, session, frame)
    case 'room-create':
      return ctx.rooms.create(session, frame)
    case 'room-join':
      return ctx.rooms.join(session, frame)
    case 'room-leave':
      return ctx.rooms.leave(session, frame)
    case 'room-extend':
      return ctx.rooms.extend(session, frame)
    case 'room-revoke':
      return ctx.rooms.revoke(session, frame)
    case 'room-members':
      return ctx.rooms.members(session, frame)
  }
}

/** `keys`: a user's identity key and current signed prekey, for the client to verify. */
function keys(ctx: RelayContext, session: Session, frame: KeysRequest): void {
  const record = ctx.store.getUser(frame.user)
  if (!record) return session.error('unknown-user', 'no such user', frame.requestId)
  session.reply(frame.requestId, { user: record.user, publicKey: record.publicKey, prekey: record.prekey })
}

/** `prekey`: the user publishes a new signed prekey (rotation while connected). */
function prekey(ctx: RelayContext, session: Session, frame: PrekeyRequest): void {
  const user = session.user as SessionUser
  const identityKey = fromBase64url(user.publicKey)
  const signed = decodePrekey(frame.prekey)
  if (!identityKey || !signed || !verifyPrekey(identityKey, signed)) {
    return session.error('bad-frame', 'the prekey is not signed by the identity key', frame.requestId)
  }
  ctx.store.upsertUser({ user: user.id, publicKey: user.publicKey, prekey: frame.prekey, seenAt: ctx.now() })
  session.reply(frame.requestId)
}
