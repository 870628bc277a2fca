/**
 * connectRelay(): the client SDK. Over any Keypin Connection (QUIC or
 * WebRTC) it opens the control stream, logs in with the identity key,
 * publishes its prekey, and from then on sends and receives end-to-end
 * encrypted messages. The relay sees only sealed bytes.
 *
 * This file holds the session (hello, login, requests, the public API and
 * the routing of what the relay pushes); keys.ts verifies contacts' keys,
 * inbox.ts verifies and acknowledges incoming messages.
 */
import type { Connection } from '@keypin/core'
import { encodeSealed, isUserId, safetyCode, sealMessage, signLogin, userIdOf, type IdentityKeyPair } from '../crypto/index.js'
import { toBase64url } from '../protocol/base64url.js'
import { FieldReader, FrameError } from '../protocol/check.js'
import { encodeDatagram, parseDownDatagram } from '../protocol/datagram.js'
import { describeValue, RelayError } from '../protocol/errors.js'
import { DM_CONTEXT, FRAME_HEADER_BYTES, isRoomId, MAX_TEXT_BYTES, NONCE_BYTES, PROTOCOL_VERSION, roomContext } from '../protocol/limits.js'
import type { HelloLimits } from '../protocol/messages.js'
import type { RelayClient, RelayClientOptions, RelayEvents, RoomInfo, SentMessage } from './api.js'
import { ControlChannel, type PushFrame } from './control.js'
import { Emitter } from './events.js'
import { Inbox } from './inbox.js'
import { KeyDirectory, readWirePrekey, wirePrekey, type ContactKeys } from './keys.js'
import { ClientState, MemoryStateStore, type ClientStateStore } from './state.js'

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000
const PREKEY_CHECK_MS = 60 * 60 * 1000
const DAY = 24 * 60 * 60 * 1000
/** Room-send frames are cut below the frame limit by this much (JSON envelope). */
const FRAME_SLACK = 1_024

const utf8 = new TextEncoder()

function invalid(message: string): never {
  throw new RelayError('invalid-argument', message)
}

function checkIdentity(identity: unknown): asserts identity is IdentityKeyPair {
  const pair = identity as Partial<IdentityKeyPair> | undefined
  if (!(pair?.publicKey instanceof Uint8Array) || !(pair.secretKey instanceof Uint8Array)) {
    invalid(`options.identity must be an IdentityKeyPair ({ publicKey, secretKey } Uint8Arrays), got ${describeValue(identity)}`)
  }
}

function checkOptions(connection: unknown, options: RelayClientOptions): void {
  const conn = connection as Partial<Connection> | undefined
  if (!conn || typeof conn.openStream !== 'function' || typeof conn.datagrams !== 'object') {
    invalid(`connection must be a Keypin Connection, got ${describeValue(connection)}`)
  }
  if (typeof options !== 'object' || options === null) invalid('connectRelay needs an options object')
  checkIdentity(options.identity)
  if (typeof options.certhash !== 'string' || !options.certhash.startsWith('u')) {
    invalid(`options.certhash must be the relay's certhash (a "u..." string), got ${describeValue(options.certhash)}`)
  }
  const store = options.store as Partial<ClientStateStore> | undefined
  if (store !== undefined && (typeof store.get !== 'function' || typeof store.set !== 'function' || typeof store.delete !== 'function')) {
    invalid('options.store must have get, set and delete methods')
  }
  const timeout = options.requestTimeoutMs
  if (timeout !== undefined && (!Number.isInteger(timeout) || timeout <= 0)) {
    invalid(`options.requestTimeoutMs must be a positive integer, got ${describeValue(timeout)}`)
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) invalid('options.signal must be an AbortSignal')
}

/**
 * Opens the control stream on `connection`, logs in, publishes (or rotates)
 * the prekey, and starts receiving queued messages. Attach listeners right
 * after it resolves: queued messages are emitted from the next turn on.
 */
export async function connectRelay(connection: Connection, options: RelayClientOptions): Promise<RelayClient> {
  checkOptions(connection, options)
  const signal = options.signal
  if (signal?.aborted) throw new RelayError('aborted', 'connectRelay was aborted', { cause: signal.reason })
  const client = new Client(connection, options)
  const abort = (): void => client.abortConnect(new RelayError('aborted', 'connectRelay was aborted', { cause: signal?.reason }))
  signal?.addEventListener('abort', abort, { once: true })
  try {
    await client.connect()
  } catch (error) {
    await client.close().catch(() => {})
    throw error
  } finally {
    signal?.removeEventListener('abort', abort)
  }
  if (signal) {
    const onAbort = (): void => void client.close()
    signal.addEventListener('abort', onAbort, { once: true })
    void client.closed.then(() => signal.removeEventListener('abort', onAbort))
  }
  return client
}

class Client implements RelayClient {
  readonly userId: string
  readonly safetyCode: string
  readonly closed: Promise<void>
  readonly #connection: Connection
  readonly #identity: IdentityKeyPair
  readonly #certhash: string
  readonly #requestTimeoutMs: number
  readonly #state: ClientState
  readonly #events = new Emitter<RelayEvents>()
  readonly #keys: KeyDirectory
  readonly #inbox: Inbox
  #channel: ControlChannel | undefined
  #limits: HelloLimits | undefined
  #prekeyTimer: ReturnType<typeof setInterval> | undefined
  /** Id of the prekey the relay last accepted from us. */
  #publishedPrekey: number | undefined
  #datagrams: ReadableStreamDefaultReader<Uint8Array> | undefined
  #closing = false
  #finished = false
  #resolveClosed!: () => void
  #connectAbort: ((error: RelayError) => void) | undefined
  /** Push frames that arrive while connecting wait here, so no event fires before listeners can be attached. */
  #held: PushFrame[] | undefined = []

  constructor(connection: Connection, options: RelayClientOptions) {
    this.#connection = connection
    this.#identity = options.identity
    this.#certhash = options.certhash
    this.#requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
    try {
      this.userId = userIdOf(options.identity.publicKey)
      this.safetyCode = safetyCode(options.identity.publicKey)
    } catch (cause) {
      throw new RelayError('invalid-argument', 'options.identity.publicKey is not an Ed25519 public key', { cause })
    }
    this.#state = new ClientState(options.store ?? new MemoryStateStore(), options.identity, this.userId)
    this.#keys = new KeyDirectory(this.#state, (frame) => this.#request(frame))
    this.#inbox = new Inbox(options.identity, this.#state, this.#events, () => this.#channel)
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve
    })
  }

  // ---- connecting ----------------------------------------------------------

  abortConnect(error: RelayError): void {
    this.#connectAbort?.(error)
  }

  async connect(): Promise<void> {
    const aborted = new Promise<never>((_, reject) => {
      this.#connectAbort = reject
    })
    aborted.catch(() => {})
    const race = <T>(promise: Promise<T>): Promise<T> => Promise.race([promise, aborted])
    try {
      const stream = await race(this.#connection.openStream())
      const channel = new ControlChannel(stream, {
        requestTimeoutMs: this.#requestTimeoutMs,
        onPush: (frame) => this.#push(frame),
        onClose: (error) => this.#onChannelClose(error),
      })
      this.#channel = channel
      const helloReply = channel.hello(this.#requestTimeoutMs)
      await race(channel.send({ t: 'hello', v: PROTOCOL_VERSION }))
      const hello = await race(helloReply)
      const nonce = this.#readHello(hello)
      await race(this.#state.load({ maxAgeMs: Math.max(7 * DAY, (this.#limits as HelloLimits).messageTtlMs + DAY), maxEntries: 20_000 }))
      const prekey = await race(this.#state.currentPrekey(Date.now()))
      const reply = await race(
        channel.request({
          t: 'login',
          publicKey: toBase64url(this.#identity.publicKey),
          signature: toBase64url(signLogin(this.#identity, { certhash: this.#certhash, nonce })),
          prekey: wirePrekey(prekey.prekey),
        }),
      )
      if (reply.userId('user') !== this.userId) throw new RelayError('protocol-error', 'the relay logged us in as another user')
      this.#publishedPrekey = prekey.prekey.id
    } catch (error) {
      if (error instanceof FrameError) throw new RelayError('protocol-error', `the relay sent a malformed frame: ${error.message}`, { cause: error })
      throw error
    } finally {
      this.#connectAbort = undefined
    }
    // Events start on a later turn than the one connectRelay resolves on.
    setTimeout(() => this.#release(), 0)
    this.#prekeyTimer = setInterval(() => void this.#rotatePrekey(), PREKEY_CHECK_MS)
    ;(this.#prekeyTimer as { unref?: () => void }).unref?.()
  }

  #readHello(hello: FieldReader): Uint8Array {
    const version = hello.integer('v', 0, Number.MAX_SAFE_INTEGER)
    if (version !== PROTOCOL_VERSION) {
      throw new RelayError('unsupported-version', `the relay speaks protocol version ${version}; this client speaks ${PROTOCOL_VERSION}`)
    }
    const certhash = hello.string('certhash', 200)
    if (certhash !== this.#certhash) {
      throw new RelayError('login-failed', 'the relay reports a different certhash than the address that was dialed')
    }
    const nonce = hello.bytes('nonce', NONCE_BYTES, NONCE_BYTES)
    const limits = hello.object('limits')
    this.#limits = {
      maxFrameBytes: limits.integer('maxFrameBytes', 4096, 1 << 20),
      maxMessageBytes: limits.integer('maxMessageBytes', 256, 1 << 20),
      messageTtlMs: limits.integer('messageTtlMs', 1, Number.MAX_SAFE_INTEGER),
      maxRoomMembers: limits.integer('maxRoomMembers', 1, 1_000_000),
      maxRoomTtlMs: limits.integer('maxRoomTtlMs', 1, Number.MAX_SAFE_INTEGER),
    }
    return nonce
  }

  async #rotatePrekey(): Promise<void> {
    if (this.#closing) return
    try {
      // Compared with what the relay holds: a publish that failed is retried at the next check.
      const prekey = await this.#state.currentPrekey(Date.now())
      if (prekey.prekey.id === this.#publishedPrekey) return
      await this.#request({ t: 'prekey', prekey: wirePrekey(prekey.prekey) })
      this.#publishedPrekey = prekey.prekey.id
    } catch {
      // Retried at the next check; the old prekey keeps working meanwhile.
    }
  }

  // ---- requests --------------------------------------------------------------

  async #request(frame: Record<string, unknown> & { t: string }): Promise<FieldReader> {
    const channel = this.#channel
    if (!channel || this.#closing) throw new RelayError('closed', 'the relay client is closed')
    try {
      return await channel.request(frame)
    } catch (error) {
      if (error instanceof FrameError) throw this.#protocolError(error)
      throw error
    }
  }

  #protocolError(cause: FrameError): RelayError {
    const error = new RelayError('protocol-error', `the relay sent a malformed reply: ${cause.message}`, { cause })
    this.#channel?.abort(error)
    return error
  }

  /** Verified keys of a contact; a malformed directory reply is a protocol error. */
  async #contactKeys(user: string): Promise<ContactKeys> {
    try {
      return await this.#keys.get(user)
    } catch (error) {
      if (error instanceof FrameError) throw this.#protocolError(error)
      throw error
    }
  }

  #limitsOrThrow(): HelloLimits {
    if (!this.#limits) throw new RelayError('closed', 'the relay client is not connected')
    return this.#limits
  }

  #text(text: unknown): Uint8Array {
    if (typeof text !== 'string') invalid(`text must be a string, got ${describeValue(text)}`)
    const bytes = utf8.encode(text)
    if (bytes.byteLength > MAX_TEXT_BYTES) throw new RelayError('too-large', `text is ${bytes.byteLength} bytes of UTF-8; the limit is ${MAX_TEXT_BYTES}`)
    return bytes
  }

  #seal(to: string, keys: ContactKeys, context: string, plaintext: Uint8Array): { id: string; message: string } {
    const sealed = sealMessage({
      sender: this.#identity,
      to,
      recipientIdentityKey: keys.identityKey,
      recipientPrekey: keys.prekey,
      context,
      plaintext,
    })
    const bytes = encodeSealed(sealed)
    const limit = this.#limitsOrThrow().maxMessageBytes
    if (bytes.byteLength > limit) throw new RelayError('too-large', `the sealed message is ${bytes.byteLength} bytes; the relay accepts ${limit}`)
    return { id: sealed.id, message: toBase64url(bytes) }
  }

  // ---- public API ------------------------------------------------------------

  async sendDirect(to: string, text: string): Promise<SentMessage> {
    if (!isUserId(to)) invalid(`to must be a user id, got ${describeValue(to)}`)
    const plaintext = this.#text(text)
    const keys = await this.#contactKeys(to)
    const { id, message } = this.#seal(to, keys, DM_CONTEXT, plaintext)
    const reply = await this.#request({ t: 'send', from: this.userId, to, id, context: DM_CONTEXT, message })
    try {
      return { id, state: reply.oneOf('state', ['stored', 'delivered'] as const) }
    } catch (error) {
      if (error instanceof FrameError) throw this.#protocolError(error)
      throw error
    }
  }

  async createRoom(options: { ttlMs: number; maxMembers: number }): Promise<RoomInfo> {
    if (typeof options !== 'object' || options === null) invalid('createRoom needs { ttlMs, maxMembers }')
    const { ttlMs, maxMembers } = options
    if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) invalid(`ttlMs must be a positive integer (milliseconds), got ${describeValue(ttlMs)}`)
    if (!Number.isSafeInteger(maxMembers) || maxMembers < 2) invalid(`maxMembers must be an integer of at least 2, got ${describeValue(maxMembers)}`)
    return this.#room(await this.#request({ t: 'room-create', ttlMs, maxMembers }))
  }

  async joinRoom(roomId: string): Promise<RoomInfo> {
    checkRoomId(roomId)
    return this.#room(await this.#request({ t: 'room-join', room: roomId }))
  }

  async leaveRoom(roomId: string): Promise<void> {
    checkRoomId(roomId)
    await this.#request({ t: 'room-leave', room: roomId })
  }

  async extendRoom(roomId: string, ttlMs: number): Promise<RoomInfo> {
    checkRoomId(roomId)
    if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) invalid(`ttlMs must be a positive integer (milliseconds), got ${describeValue(ttlMs)}`)
    return this.#room(await this.#request({ t: 'room-extend', room: roomId, ttlMs }))
  }

  async revokeRoom(roomId: string): Promise<void> {
    checkRoomId(roomId)
    await this.#request({ t: 'room-revoke', room: roomId })
  }

  async sendRoom(roomId: string, text: string): Promise<SentMessage[]> {
    checkRoomId(roomId)
    const plaintext = this.#text(text)
    const reply = await this.#request({ t: 'room-members', room: roomId })
    const limits = this.#limitsOrThrow()
    const context = roomContext(roomId)
    const sealed: { to: string; id: string; message: string }[] = []
    try {
      for (const member of reply.objects('members', limits.maxRoomMembers)) {
        const user = member.userId('user')
        if (user === this.userId) continue
        let keys: ContactKeys
        try {
          keys = await this.#keys.verify(user, member.bytes('publicKey', 32, 32), readWirePrekey(member.object('prekey')))
        } catch (error) {
          // A member whose keys do not verify is left out rather than sent something they could not trust.
          if (error instanceof RelayError && error.code === 'bad-key') continue
          throw error
        }
        sealed.push({ to: user, ...this.#seal(user, keys, context, plaintext) })
      }
    } catch (error) {
      if (error instanceof FrameError) throw this.#protocolError(error)
      throw error
    }
    // Cut into frames under the relay's frame limit.
    const budget = limits.maxFrameBytes - FRAME_HEADER_BYTES - FRAME_SLACK
    const batches: (typeof sealed)[] = []
    let batch: typeof sealed = []
    let size = 0
    for (const entry of sealed) {
      const entrySize = entry.message.length + entry.id.length + entry.to.length + 40
      if (batch.length > 0 && size + entrySize > budget) {
        batches.push(batch)
        batch = []
        size = 0
      }
      batch.push(entry)
      size += entrySize
    }
    if (batch.length > 0) batches.push(batch)
    const replies = await Promise.all(batches.map((messages) => this.#request({ t: 'room-send', room: roomId, from: this.userId, messages })))
    const sent: SentMessage[] = []
    try {
      for (const result of replies.flatMap((r) => r.objects('results', limits.maxRoomMembers))) {
        if (result.has('state')) sent.push({ id: result.messageId('id'), state: 'stored' })
      }
    } catch (error) {
      if (error instanceof FrameError) throw this.#protocolError(error)
      throw error
    }
    return sent
  }

  async sendTyping(to: string): Promise<void> {
    if (!isUserId(to) && !isRoomId(to)) invalid(`to must be a user id or a room id, got ${describeValue(to)}`)
    if (this.#closing) throw new RelayError('closed', 'the relay client is closed')
    await this.#connection.datagrams.send(encodeDatagram({ t: 'typing', to }))
  }

  async contactSafetyCode(userId: string): Promise<string> {
    if (!isUserId(userId)) invalid(`userId must be a user id, got ${describeValue(userId)}`)
    const keys = await this.#contactKeys(userId)
    return safetyCode(this.#identity.publicKey, keys.identityKey)
  }

  on<K extends keyof RelayEvents>(event: K, listener: (e: RelayEvents[K]) => void): () => void {
    if (typeof listener !== 'function') invalid('listener must be a function')
    return this.#events.on(event, listener)
  }

  async close(): Promise<void> {
    if (!this.#closing) {
      this.#closing = true
      clearInterval(this.#prekeyTimer)
      await this.#inbox.flush()
      await this.#channel?.close()
      if (!this.#channel) this.#finish(undefined)
    }
    await this.closed
  }

  // ---- incoming --------------------------------------------------------------

  #room(reply: FieldReader): RoomInfo {
    try {
      const room = reply.object('room')
      const limits = this.#limitsOrThrow()
      return {
        id: room.roomId('id'),
        creator: room.userId('creator'),
        expiresAt: room.integer('expiresAt', 0, Number.MAX_SAFE_INTEGER),
        maxMembers: room.integer('maxMembers', 1, limits.maxRoomMembers),
        members: room.array('members', limits.maxRoomMembers).map((member) => {
          if (!isUserId(member)) throw new FrameError('room members must be user ids')
          return member
        }),
      }
    } catch (error) {
      if (error instanceof FrameError) throw this.#protocolError(error)
      throw error
    }
  }

  #release(): void {
    const held = this.#held ?? []
    this.#held = undefined
    if (this.#finished) return
    // Datagrams that came meanwhile wait in the connection's queue.
    void this.#readDatagrams()
    for (const frame of held) {
      try {
        this.#push(frame)
      } catch (error) {
        if (error instanceof FrameError) {
          this.#protocolError(error)
          return
        }
        throw error
      }
    }
  }

  #push(frame: PushFrame): void {
    if (this.#held) {
      this.#held.push(frame)
      return
    }
    const f = frame.fields
    switch (frame.t) {
      case 'message':
        return this.#inbox.receive(f)
      case 'receipt':
        return this.#events.emit('receipt', { id: f.messageId('id'), state: f.oneOf('state', ['delivered'] as const) })
      case 'member-joined':
      case 'member-left':
        return this.#events.emit(frame.t, { roomId: f.roomId('room'), userId: f.userId('user') })
      case 'room-closed':
        return this.#events.emit('room-closed', { roomId: f.roomId('room'), reason: f.oneOf('reason', ['revoked', 'expired'] as const) })
      default:
        // 'error' notices and frame types from newer relays need no action here.
        return
    }
  }

  async #readDatagrams(): Promise<void> {
    let reader: ReadableStreamDefaultReader<Uint8Array>
    try {
      reader = this.#connection.datagrams.incoming.getReader()
    } catch {
      return // Someone else reads this connection's datagrams.
    }
    this.#datagrams = reader
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return
        const datagram = parseDownDatagram(value)
        if (datagram?.t === 'presence') this.#events.emit('presence', { userId: datagram.user, online: datagram.online })
        else if (datagram?.t === 'typing') {
          this.#events.emit('typing', datagram.room === undefined ? { from: datagram.from } : { from: datagram.from, roomId: datagram.room })
        }
      }
    } catch {
      // The connection ended or the client closed.
    }
  }

  #onChannelClose(error: RelayError | undefined): void {
    this.#finish(error)
  }

  #finish(error: Error | undefined): void {
    if (this.#finished) return
    this.#finished = true
    this.#closing = true
    clearInterval(this.#prekeyTimer)
    this.#inbox.stop()
    if (this.#datagrams) {
      this.#datagrams.cancel().catch(() => {})
      this.#datagrams.releaseLock()
    }
    this.#events.emit('close', error ? { error } : {})
    this.#resolveClosed()
  }
}

function checkRoomId(roomId: unknown): asserts roomId is string {
  if (!isRoomId(roomId)) invalid(`roomId must be a room id ("r" and 26 base32 characters), got ${describeValue(roomId)}`)
}
