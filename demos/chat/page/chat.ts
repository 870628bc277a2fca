/**
 * The chat's state and what the user can do with it, independent of the
 * DOM: contacts, rooms, the conversations with their messages and notices,
 * delivery states, typing and presence. The relay client is attached while
 * connected; contacts and rooms are kept in IndexedDB, messages only in
 * memory (the relay holds what arrives while the page is away).
 */
import { isUserId, type RelayClient, type RelayEvents, type RoomInfo } from '@keypin/relay'
import {
  dmId,
  peerOf,
  roomConversationId,
  shortId,
  type Contact,
  type Conversation,
  type ConversationId,
  type Entry,
  type MessageEntry,
  type Room,
} from './conversation.js'
import { Deliveries } from './delivery.js'
import type { ChatDatabase } from './identity-db.js'

/** How long a typing notice shows after the last one arrived, and how often one is sent. */
const TYPING_SHOWN_MS = 4000
const TYPING_EVERY_MS = 2000
/** Entries kept per conversation at most, oldest dropped first. */
const MAX_ENTRIES = 500

export class ChatModel {
  readonly #db: ChatDatabase
  /** This user's id, known from the identity before any connection. */
  readonly myId: string
  readonly #listeners = new Set<() => void>()
  readonly #contacts = new Map<string, Contact>()
  readonly #rooms = new Map<string, Room>()
  readonly #conversations = new Map<ConversationId, Conversation>()
  readonly #deliveries = new Deliveries()
  readonly #presence = new Map<string, boolean>()
  readonly #safetyCodes = new Map<string, string>()
  /** conversation → user → until when the typing notice shows. */
  readonly #typing = new Map<ConversationId, Map<string, number>>()
  readonly #lastTypingSent = new Map<ConversationId, number>()
  #client: RelayClient | undefined
  #detach: (() => void) | undefined
  #certhash: string | undefined
  #selected: ConversationId | undefined
  #keys = 0
  #notifyQueued = false

  constructor(db: ChatDatabase, myId: string) {
    this.#db = db
    this.myId = myId
  }

  // ---- reading ----

  get client(): RelayClient | undefined {
    return this.#client
  }

  get contacts(): Contact[] {
    return [...this.#contacts.values()].sort((a, b) => a.addedAt - b.addedAt)
  }

  get rooms(): Room[] {
    return [...this.#rooms.values()].sort((a, b) => a.info.id.localeCompare(b.info.id))
  }

  get selected(): ConversationId | undefined {
    return this.#selected
  }

  contact(userId: string): Contact | undefined {
    return this.#contacts.get(userId)
  }

  room(roomId: string): Room | undefined {
    return this.#rooms.get(roomId)
  }

  conversation(id: ConversationId): Conversation {
    let conversation = this.#conversations.get(id)
    if (!conversation) {
      conversation = { id, entries: [], unread: 0 }
      this.#conversations.set(id, conversation)
    }
    return conversation
  }

  online(userId: string): boolean | undefined {
    return this.#presence.get(userId)
  }

  safetyCodeOf(userId: string): string | undefined {
    return this.#safetyCodes.get(userId)
  }

  /** Users typing in a conversation right now. */
  typingIn(id: ConversationId): string[] {
    const now = Date.now()
    return [...(this.#typing.get(id) ?? new Map<string, number>())].filter(([, until]) => until > now).map(([user]) => user)
  }

  /** A short label for a user: the contact's name, "you", or the start of the id. */
  nameOf(userId: string): string {
    if (userId === this.myId) return 'you'
    const name = this.#contacts.get(userId)?.name
    return name ? name : shortId(userId)
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  // ---- lifecycle ----

  /** Loads contacts (shared by every relay) and this relay's rooms. */
  async load(certhash: string): Promise<void> {
    this.#certhash = certhash
    const contacts = (await this.#db.get<Contact[]>('app', 'contacts')) ?? []
    this.#contacts.clear()
    for (const contact of contacts) if (isUserId(contact.userId)) this.#contacts.set(contact.userId, contact)
    const rooms = (await this.#db.get<Room[]>('app', roomsKey(certhash))) ?? []
    this.#rooms.clear()
    for (const room of rooms) this.#rooms.set(room.info.id, room)
    // A room of the previous relay is not one of this relay's.
    const selected = this.#selected && peerOf(this.#selected)
    if (selected && selected.kind === 'room' && !this.#rooms.has(selected.id)) this.#selected = undefined
    this.#expireRooms()
    this.#changed()
  }

  /** Uses `client` until it closes or another one is attached. */
  attach(client: RelayClient): void {
    this.detach()
    this.#client = client
    const offs = [
      client.on('direct', (event) => this.#onDirect(event)),
      client.on('room', (event) => this.#onRoom(event)),
      client.on('receipt', (event) => this.#onReceipt(event.id)),
      client.on('presence', (event) => {
        this.#presence.set(event.userId, event.online)
        this.#changed()
      }),
      client.on('typing', (event) => this.#onTyping(event)),
      client.on('member-joined', (event) => this.#onMembership(event, true)),
      client.on('member-left', (event) => this.#onMembership(event, false)),
      client.on('room-closed', (event) => void this.#closeRoom(event.roomId, event.reason)),
      client.on('rejected', (event) => this.#onRejected(event)),
    ]
    this.#detach = () => offs.forEach((off) => off())
    if (this.#selected && peerOf(this.#selected).kind === 'dm') void this.#fetchSafetyCode(peerOf(this.#selected).id)
    this.#changed()
  }

  detach(): void {
    this.#detach?.()
    this.#detach = undefined
    this.#client = undefined
    this.#presence.clear()
    this.#typing.clear()
    this.#changed()
  }

  select(id: ConversationId | undefined): void {
    this.#selected = id
    if (id) {
      this.conversation(id).unread = 0
      const peer = peerOf(id)
      if (peer.kind === 'dm') void this.#fetchSafetyCode(peer.id)
    }
    this.#changed()
  }

  // ---- actions (each throws with a readable message on failure) ----

  async addContact(userId: string, name: string): Promise<Contact> {
    const id = userId.trim()
    if (!isUserId(id)) throw new Error(`"${shorten(id)}" is not a user id`)
    if (id === this.myId) throw new Error('that is your own user id')
    const existing = this.#contacts.get(id)
    const contact: Contact = { userId: id, name: name.trim() || existing?.name || '', addedAt: existing?.addedAt ?? Date.now() }
    this.#contacts.set(id, contact)
    await this.#saveContacts()
    this.#changed()
    return contact
  }

  async sendDirect(userId: string, text: string): Promise<void> {
    const client = this.#need()
    const entry = this.#addOutgoing(dmId(userId), client.userId, text)
    try {
      this.#deliveries.stored(entry, [await client.sendDirect(userId, text)])
    } catch (error) {
      this.#deliveries.failed(entry, error)
    }
    this.#changed()
  }

  async sendRoom(roomId: string, text: string): Promise<void> {
    const client = this.#need()
    const entry = this.#addOutgoing(roomConversationId(roomId), client.userId, text)
    try {
      this.#deliveries.stored(entry, await client.sendRoom(roomId, text))
    } catch (error) {
      this.#deliveries.failed(entry, error)
    }
    this.#changed()
  }

  /** Tells the other side the user is typing, at most every couple of seconds. */
  typing(id: ConversationId): void {
    const client = this.#client
    if (!client) return
    const now = Date.now()
    if (now - (this.#lastTypingSent.get(id) ?? 0) < TYPING_EVERY_MS) return
    this.#lastTypingSent.set(id, now)
    const peer = peerOf(id)
    if (peer.kind === 'room' && this.#rooms.get(peer.id)?.closed) return
    client.sendTyping(peer.id).catch(() => {})
  }

  async createRoom(ttlMs: number, maxMembers: number): Promise<RoomInfo> {
    const info = await this.#need().createRoom({ ttlMs, maxMembers })
    await this.#putRoom({ info })
    this.#notice(roomConversationId(info.id), `You created this room. It expires ${new Date(info.expiresAt).toLocaleString()}.`)
    return info
  }

  async joinRoom(roomId: string): Promise<RoomInfo> {
    const id = roomId.trim()
    if (id === '') throw new Error('enter a room id')
    const info = await this.#need().joinRoom(id)
    await this.#putRoom({ info })
    this.#notice(roomConversationId(info.id), 'You joined this room.')
    return info
  }

  async leaveRoom(roomId: string): Promise<void> {
    await this.#need().leaveRoom(roomId)
    await this.forgetRoom(roomId)
  }

  async extendRoom(roomId: string, ttlMs: number): Promise<RoomInfo> {
    const info = await this.#need().extendRoom(roomId, ttlMs)
    await this.#putRoom({ info })
    this.#notice(roomConversationId(roomId), `Room extended: it now expires ${new Date(info.expiresAt).toLocaleString()}.`)
    return info
  }

  async revokeRoom(roomId: string): Promise<void> {
    await this.#need().revokeRoom(roomId)
    await this.#closeRoom(roomId, 'revoked')
  }

  /** Drops a room from the list (after leaving it, or once it has ended). */
  async forgetRoom(roomId: string): Promise<void> {
    this.#rooms.delete(roomId)
    this.#conversations.delete(roomConversationId(roomId))
    if (this.#selected === roomConversationId(roomId)) this.#selected = undefined
    await this.#saveRooms()
    this.#changed()
  }

  /** Marks rooms whose time ran out as expired; the page calls it on a timer. */
  tick(): void {
    this.#expireRooms()
    this.#changed()
  }

  // ---- relay events ----

  #onDirect(event: RelayEvents['direct']): void {
    if (!this.#contacts.has(event.from)) {
      this.#contacts.set(event.from, { userId: event.from, name: '', addedAt: Date.now() })
      void this.#saveContacts()
    }
    this.#clearTyping(dmId(event.from), event.from)
    this.#addIncoming(dmId(event.from), event)
  }

  #onRoom(event: RelayEvents['room']): void {
    if (event.from === this.myId) return
    this.#clearTyping(roomConversationId(event.roomId), event.from)
    this.#addIncoming(roomConversationId(event.roomId), event)
  }

  #onReceipt(id: string): void {
    if (this.#deliveries.receipt(id)) this.#changed()
  }

  #onTyping(event: RelayEvents['typing']): void {
    if (event.from === this.myId) return
    const id = event.roomId === undefined ? dmId(event.from) : roomConversationId(event.roomId)
    let users = this.#typing.get(id)
    if (!users) this.#typing.set(id, (users = new Map()))
    users.set(event.from, Date.now() + TYPING_SHOWN_MS)
    setTimeout(() => this.#changed(), TYPING_SHOWN_MS + 50)
    this.#changed()
  }

  #onMembership(event: { roomId: string; userId: string }, joined: boolean): void {
    const room = this.#rooms.get(event.roomId)
    if (room) {
      const others = room.info.members.filter((member) => member !== event.userId)
      void this.#putRoom({ ...room, info: { ...room.info, members: joined ? [...others, event.userId] : others } })
    }
    // Our own joins and leaves are announced by the action that caused them.
    if (event.userId === this.myId) return
    this.#notice(roomConversationId(event.roomId), `${this.nameOf(event.userId)} ${joined ? 'joined' : 'left'} the room.`)
  }

  #onRejected(event: RelayEvents['rejected']): void {
    this.#notice(dmId(event.from), `A message from ${this.nameOf(event.from)} could not be accepted: ${event.reason}`)
  }

  async #closeRoom(roomId: string, reason: 'revoked' | 'expired'): Promise<void> {
    const room = this.#rooms.get(roomId)
    if (!room || room.closed) return
    await this.#putRoom({ ...room, closed: reason })
    this.#notice(roomConversationId(roomId), reason === 'revoked' ? 'The room was revoked by its creator.' : 'The room expired.')
  }

  // ---- helpers ----

  #need(): RelayClient {
    if (!this.#client) throw new Error('not connected to the relay')
    return this.#client
  }

  #addOutgoing(id: ConversationId, from: string, text: string): MessageEntry {
    const entry: MessageEntry = { kind: 'message', key: this.#key(), from, text, sentAt: Date.now(), outgoing: true, state: 'sending' }
    this.#append(id, entry)
    return entry
  }

  #addIncoming(id: ConversationId, event: { id: string; from: string; text: string; sentAt: number }): void {
    const entry: MessageEntry = { kind: 'message', key: `in:${event.id}`, from: event.from, text: event.text, sentAt: event.sentAt, outgoing: false }
    const conversation = this.conversation(id)
    if (conversation.entries.some((existing) => existing.key === entry.key)) return
    this.#append(id, entry)
    if (this.#selected !== id) conversation.unread++
  }

  #notice(id: ConversationId, text: string): void {
    this.#append(id, { kind: 'notice', key: this.#key(), text, at: Date.now() })
  }

  #append(id: ConversationId, entry: Entry): void {
    const entries = this.conversation(id).entries
    entries.push(entry)
    if (entries.length > MAX_ENTRIES) entries.splice(0, entries.length - MAX_ENTRIES)
    this.#changed()
  }

  #clearTyping(id: ConversationId, userId: string): void {
    this.#typing.get(id)?.delete(userId)
  }

  async #fetchSafetyCode(userId: string): Promise<void> {
    const client = this.#client
    if (!client || this.#safetyCodes.has(userId)) return
    try {
      this.#safetyCodes.set(userId, await client.contactSafetyCode(userId))
      this.#changed()
    } catch {
      // Shown as unavailable; asked again when the conversation is opened next.
    }
  }

  async #putRoom(room: Room): Promise<void> {
    this.#rooms.set(room.info.id, room)
    this.conversation(roomConversationId(room.info.id))
    this.#changed()
    await this.#saveRooms()
  }

  #expireRooms(): void {
    const now = Date.now()
    for (const room of this.#rooms.values()) {
      if (!room.closed && room.info.expiresAt <= now) void this.#closeRoom(room.info.id, 'expired')
    }
  }

  /** Saving is best effort: the lists in memory stay right, only a reload would miss the change. */
  async #saveContacts(): Promise<void> {
    await this.#db.set('app', 'contacts', this.contacts).catch((error: unknown) => console.warn('contacts not saved:', error))
  }

  async #saveRooms(): Promise<void> {
    if (!this.#certhash) return
    await this.#db.set('app', roomsKey(this.#certhash), this.rooms).catch((error: unknown) => console.warn('rooms not saved:', error))
  }

  #key(): string {
    return `local:${++this.#keys}`
  }

  /** Listeners run once per burst of changes. */
  #changed(): void {
    if (this.#notifyQueued) return
    this.#notifyQueued = true
    queueMicrotask(() => {
      this.#notifyQueued = false
      for (const listener of this.#listeners) listener()
    })
  }
}

function roomsKey(certhash: string): string {
  return `rooms/${certhash}`
}

function shorten(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text
}
