/**
 * Presence and typing indicators, carried on connection datagrams (lost
 * without harm). A user's peers are the users who share a room with them
 * or have exchanged direct messages with them; peers learn when the user
 * comes online or goes offline, and the user learns which peers are online.
 * Typing indicators reach a direct-message peer, or the online members of
 * a room the sender is in; excess ones are dropped.
 */
import { encodeDatagram, parseUpDatagram } from '../protocol/datagram.js'
import { isRoomId } from '../protocol/limits.js'
import type { RelayContext } from './context.js'
import type { Session } from './session.js'

/** Peers considered per login or logout (contacts and room peers, each). */
const PEER_LIMIT = 1_000

export class Presence {
  readonly #ctx: () => RelayContext

  constructor(ctx: () => RelayContext) {
    this.#ctx = ctx
  }

  #peers(user: string): Set<string> {
    const { store } = this.#ctx()
    return new Set([...store.contactsOf(user, PEER_LIMIT), ...store.roomPeersOf(user, PEER_LIMIT)])
  }

  /** `session` just logged in. */
  online(session: Session): void {
    const { online } = this.#ctx()
    const user = session.user?.id
    if (!user) return
    const announce = encodeDatagram({ t: 'presence', user, online: true })
    for (const peer of this.#peers(user)) {
      const other = online.get(peer)
      if (!other) continue
      other.sendDatagram(announce)
      session.sendDatagram(encodeDatagram({ t: 'presence', user: peer, online: true }))
    }
  }

  /** `user` just went offline. */
  offline(user: string): void {
    const { online, store } = this.#ctx()
    if (store.closed) return
    const announce = encodeDatagram({ t: 'presence', user, online: false })
    for (const peer of this.#peers(user)) online.get(peer)?.sendDatagram(announce)
  }

  /** A datagram from a logged-in session. */
  datagram(session: Session, bytes: Uint8Array): void {
    const { online, store, buckets, metrics } = this.#ctx()
    const user = session.user?.id
    const typing = parseUpDatagram(bytes)
    if (!user || !typing) return
    if (buckets.typing.take(user) > 0) {
      metrics.rateLimited.inc({ scope: 'typing' })
      return
    }
    if (isRoomId(typing.to)) {
      if (!store.isMember(typing.to, user)) return
      const out = encodeDatagram({ t: 'typing', from: user, room: typing.to })
      for (const member of store.members(typing.to)) if (member !== user) online.get(member)?.sendDatagram(out)
      return
    }
    if (typing.to !== user && store.isContact(user, typing.to)) {
      online.get(typing.to)?.sendDatagram(encodeDatagram({ t: 'typing', from: user }))
    }
  }
}
