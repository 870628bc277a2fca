/**
 * The client SDK's public vocabulary: options, results, events and the
 * RelayClient interface. client.ts implements it.
 */
import type { IdentityKeyPair } from '../crypto/index.js'
import type { ClientStateStore } from './state.js'

export interface RelayClientOptions {
  identity: IdentityKeyPair
  /** The relay's certhash, from the address that was dialed; logins are signed for it. */
  certhash: string
  /** Where prekey secrets, the replay guard and known contacts persist (default: memory only). */
  store?: ClientStateStore
  /** Aborts connecting; after connecting, aborting closes the client. */
  signal?: AbortSignal
  /** Bound on each request's reply (default 10 s). */
  requestTimeoutMs?: number
}

export interface SentMessage {
  readonly id: string
  readonly state: 'stored' | 'delivered'
}

export interface RoomInfo {
  readonly id: string
  readonly creator: string
  readonly expiresAt: number
  readonly maxMembers: number
  readonly members: readonly string[]
}

export type RelayEvents = {
  direct: { id: string; from: string; text: string; sentAt: number }
  room: { roomId: string; id: string; from: string; text: string; sentAt: number }
  receipt: { id: string; state: 'delivered' }
  presence: { userId: string; online: boolean }
  typing: { from: string; roomId?: string }
  'member-joined': { roomId: string; userId: string }
  'member-left': { roomId: string; userId: string }
  'room-closed': { roomId: string; reason: 'revoked' | 'expired' }
  /** A message that failed verification (tampered, replayed, badly signed...). It was acknowledged and dropped. */
  rejected: { id: string; from: string; reason: string }
  close: { error?: Error }
}

export interface RelayClient {
  readonly userId: string
  /** This identity's safety code (compare it out of band). */
  readonly safetyCode: string
  sendDirect(to: string, text: string): Promise<SentMessage>
  createRoom(options: { ttlMs: number; maxMembers: number }): Promise<RoomInfo>
  joinRoom(roomId: string): Promise<RoomInfo>
  leaveRoom(roomId: string): Promise<void>
  extendRoom(roomId: string, ttlMs: number): Promise<RoomInfo>
  revokeRoom(roomId: string): Promise<void>
  /** Seals the text for every other member and sends it; returns the messages the relay stored. */
  sendRoom(roomId: string, text: string): Promise<SentMessage[]>
  /** A typing indicator to a user (a direct-message peer) or a room (best effort, a datagram). */
  sendTyping(to: string): Promise<void>
  /** The safety code of this identity and `userId`'s, the same on both sides. */
  contactSafetyCode(userId: string): Promise<string>
  on<K extends keyof RelayEvents>(event: K, listener: (e: RelayEvents[K]) => void): () => void
  /** Ends the control stream; the relay then closes the connection. */
  close(): Promise<void>
  /** Resolves once the client has closed, for whatever reason. */
  readonly closed: Promise<void>
}
