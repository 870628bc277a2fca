/**
 * The chat's vocabulary: contacts, rooms, conversations and what they hold
 * (messages, with an outgoing message's delivery state, and notices).
 */
import type { RoomInfo } from '@keypin/relay'

/** `dm:<user id>` for a contact, `room:<room id>` for a room. */
export type ConversationId = `dm:${string}` | `room:${string}`

export interface Contact {
  readonly userId: string
  /** The user's own label for the contact; may be empty. */
  readonly name: string
  readonly addedAt: number
}

export interface Room {
  readonly info: RoomInfo
  /** Set once the room ended; the conversation stays readable. */
  readonly closed?: 'revoked' | 'expired'
}

/**
 * sending: not yet accepted by the relay; stored: the relay holds it;
 * delivered: every recipient's device has it; failed: the relay refused
 * it or the connection died first.
 */
export type DeliveryState = 'sending' | 'stored' | 'delivered' | 'failed'

export interface MessageEntry {
  readonly kind: 'message'
  readonly key: string
  readonly from: string
  readonly text: string
  readonly sentAt: number
  readonly outgoing: boolean
  /** Outgoing messages only. */
  state?: DeliveryState
  /** Copies the relay took (one per recipient: one for a contact, one per other member of a room) and how many arrived. */
  recipients?: number
  deliveredTo?: number
  error?: string
}

export interface NoticeEntry {
  readonly kind: 'notice'
  readonly key: string
  readonly text: string
  readonly at: number
}

export type Entry = MessageEntry | NoticeEntry

export interface Conversation {
  readonly id: ConversationId
  readonly entries: Entry[]
  unread: number
}

export function dmId(userId: string): ConversationId {
  return `dm:${userId}`
}

export function roomConversationId(roomId: string): ConversationId {
  return `room:${roomId}`
}

/** The contact's user id or the room id a conversation is about. */
export function peerOf(id: ConversationId): { kind: 'dm' | 'room'; id: string } {
  return id.startsWith('dm:') ? { kind: 'dm', id: id.slice(3) } : { kind: 'room', id: id.slice(5) }
}

/** The first characters of a user or room id, for labels; the full id is always one click away. */
export function shortId(id: string): string {
  return id.length > 12 ? `${id.slice(0, 10)}…` : id
}
