/**
 * One client connection: its control stream, the hello and login, the
 * error and close handling, and the hand-off of requests to the relay's
 * parts (dispatch.ts). Frames out go through outbound.ts.
 *
 * Lifecycle: the client opens the control stream and sends hello; the
 * relay answers with its hello (version, fresh nonce, certhash); the client
 * logs in. A session that is not logged in within the login timeout is
 * closed. Closing sends an error frame when there is one, then EOF, and
 * waits a short grace for the client's EOF (so the error frame is read
 * before the connection goes) before closing the connection.
 */
import type { Connection, Stream, TransportKind } from '@keypin/core'
import { FrameError } from '../protocol/check.js'
import type { ProtocolErrorCode } from '../protocol/errors.js'
import { FrameDecoder, FrameTooLargeError } from '../protocol/frame.js'
import { NONCE_BYTES, PROTOCOL_VERSION } from '../protocol/limits.js'
import { parseClientFrame, TooLargeError, type ClientFrame, type LoginRequest, type ServerFrame } from '../protocol/messages.js'
import { toBase64url } from '../protocol/base64url.js'
import type { RelayContext } from './context.js'
import { Delivery } from './delivery.js'
import { dispatch } from './dispatch.js'
import { encodeServerFrame } from './encode.js'
import { checkLogin } from './login.js'
import { Outbound } from './outbound.js'
import { ViolationCounter } from './rate-limit.js'

/** How long a closing session waits for the client to read the last frames and end its side. */
const CLOSE_GRACE_MS = 2_000
/** The same wait when the relay itself is shutting down. */
const SHUTDOWN_GRACE_MS = 500

/** Codes that count as the client misbehaving; enough of them close the connection. */
const VIOLATIONS: ReadonlySet<ProtocolErrorCode> = new Set(['bad-frame', 'too-large', 'rate-limited', 'not-logged-in', 'forbidden'])

type CloseCode = 'none' | 'too-large' | 'queue-full' | 'permission-denied' | 'unsupported' | 'timeout' | 'closed' | 'protocol-error'

interface CloseReason {
  code: CloseCode
  message: string
}

/** The Keypin close code that goes with a fatal protocol error (default `protocol-error`). */
const CLOSE_CODES: Partial<Record<ProtocolErrorCode, CloseCode>> = {
  'frame-too-large': 'too-large',
  'slow-consumer': 'queue-full',
  'login-failed': 'permission-denied',
  'rate-limited': 'permission-denied',
  'unsupported-version': 'unsupported',
  'login-timeout': 'timeout',
  'shutting-down': 'closed',
  replaced: 'closed',
}

export interface SessionUser {
  readonly id: string
  /** Identity public key, base64url. */
  readonly publicKey: string
}

type State = 'hello' | 'login' | 'ready' | 'closing' | 'closed'

export class Session {
  readonly connection: Connection
  readonly host: string
  readonly transport: TransportKind
  user: SessionUser | undefined
  delivery: Delivery | undefined
  readonly #ctx: RelayContext
  readonly #violations: ViolationCounter
  readonly #abort = new AbortController()
  #state: State = 'hello'
  #nonce: Uint8Array | undefined
  #outbound: Outbound | undefined
  #loginTimer: ReturnType<typeof setTimeout> | undefined
  #graceTimer: ReturnType<typeof setTimeout> | undefined
  #done: Promise<void> | undefined
  #writesEnded: Promise<void> = Promise.resolve()
  #closeReason: CloseReason = { code: 'none', message: '' }

  constructor(ctx: RelayContext, connection: Connection) {
    this.#ctx = ctx
    this.connection = connection
    this.host = connection.remoteAddress.host
    this.transport = connection.transport
    this.#violations = new ViolationCounter(ctx.limits.violationLimit, ctx.limits.violationWindowMs, ctx.now)
  }

  get state(): State {
    return this.#state
  }

  get #ending(): boolean {
    return this.#state === 'closing' || this.#state === 'closed'
  }

  /** True while enough is queued to the client that delivery should wait. */
  get congested(): boolean {
    return (this.#outbound?.bytes ?? 0) > this.#ctx.limits.maxOutboundBytes / 2
  }

  /** Runs the session; the promise settles once the connection is closed and every resource released. */
  start(): Promise<void> {
    this.#done ??= this.#run()
    return this.#done
  }

  async #run(): Promise<void> {
    const { limits, metrics } = this.#ctx
    metrics.connections.inc({ transport: this.transport })
    this.#loginTimer = setTimeout(() => {
      metrics.loginFailures.inc({ reason: 'timeout' })
      this.fail('login-timeout', `no login within ${limits.loginTimeoutMs} ms`, 'login-timeout')
    }, limits.loginTimeoutMs)
    try {
      const stream = await this.connection.acceptStream({ signal: this.#abort.signal })
      this.#outbound = new Outbound(stream.writable.getWriter(), () => {
        if (this.#state === 'ready' && !this.congested) this.delivery?.resume()
      })
      void this.#refuseOtherStreams()
      void this.#readDatagrams()
      await this.#readFrames(stream)
    } catch {
      // The connection ended or the session was aborted; cleanup follows.
    } finally {
      // The client ended its side (or the connection died): nothing left to wait for.
      if (!this.#ending) this.#beginClose(undefined)
      clearTimeout(this.#loginTimer)
      clearTimeout(this.#graceTimer)
      // Let the last frames (and our EOF) go out, briefly, before the connection closes.
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([this.#writesEnded, new Promise((resolve) => (timer = setTimeout(resolve, 250)))])
      clearTimeout(timer)
      this.#abort.abort()
      await this.connection.close(this.#closeReason).catch(() => {})
      this.#state = 'closed'
      metrics.connections.dec({ transport: this.transport })
    }
  }

  async #readFrames(stream: Stream): Promise<void> {
    const reader = stream.readable.getReader()
    const decoder = new FrameDecoder(this.#ctx.limits.maxFrameBytes)
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return
        if (this.#state === 'closing') continue
        let payloads: Uint8Array[]
        try {
          payloads = decoder.push(value)
        } catch (error) {
          if (!(error instanceof FrameTooLargeError)) throw error
          this.fail('frame-too-large', error.message, 'frame-too-large')
          continue
        }
        for (const payload of payloads) {
          this.#handle(payload)
          if (this.#ending) break
        }
      }
    } finally {
      reader.releaseLock()
    }
  }

  #handle(payload: Uint8Array): void {
    let frame: ClientFrame
    try {
      frame = parseClientFrame(payload, this.#ctx.limits)
    } catch (error) {
      if (error instanceof TooLargeError) {
        this.#ctx.metrics.messagesDropped.inc({ reason: 'too-large' })
        this.error('too-large', error.message, error.requestId)
      } else if (error instanceof FrameError && error.fatal) {
        if (this.#state === 'hello' || this.#state === 'login') this.#ctx.metrics.loginFailures.inc({ reason: 'bad-frame' })
        this.fail('bad-frame', error.message, 'bad-frame')
      } else if (error instanceof FrameError) {
        this.error('bad-frame', error.message, error.requestId)
      } else {
        throw error
      }
      return
    }
    switch (this.#state) {
      case 'hello':
        return this.#hello(frame)
      case 'login':
        if (frame.t === 'login') return this.#login(frame)
        if (frame.t === 'hello' || frame.t === 'ack') return this.error('bad-frame', `unexpected ${frame.t} before login`)
        return this.error('not-logged-in', `log in before sending ${frame.t}`, frame.requestId)
      case 'ready':
        if (frame.t === 'hello' || frame.t === 'login') {
          return this.error('bad-frame', `unexpected ${frame.t}: already logged in`, frame.t === 'login' ? frame.requestId : undefined)
        }
        try {
          dispatch(this.#ctx, this, frame)
        } catch (error) {
          this.#ctx.log({ level: 'error', msg: 'request failed', user: this.user?.id, type: frame.t, error: String(error) })
          this.error('internal-error', 'the relay failed to process the request', frame.t === 'ack' ? undefined : frame.requestId)
        }
        return
      default:
        return
    }
  }

  #hello(frame: ClientFrame): void {
    const { metrics } = this.#ctx
    if (frame.t !== 'hello') {
      metrics.loginFailures.inc({ reason: 'no-hello' })
      return this.fail('bad-frame', 'the first frame must be a hello', 'no-hello')
    }
    if (frame.v !== PROTOCOL_VERSION) {
      metrics.loginFailures.inc({ reason: 'unsupported-version' })
      return this.fail('unsupported-version', `protocol version ${frame.v} is not supported; this relay speaks ${PROTOCOL_VERSION}`, 'unsupported-version')
    }
    const { limits } = this.#ctx
    this.#nonce = crypto.getRandomValues(new Uint8Array(NONCE_BYTES))
    this.#state = 'login'
    this.send({
      t: 'hello',
      v: PROTOCOL_VERSION,
      nonce: toBase64url(this.#nonce),
      certhash: this.#ctx.certhash,
      limits: {
        maxFrameBytes: limits.maxFrameBytes,
        maxMessageBytes: limits.maxMessageBytes,
        messageTtlMs: limits.messageTtlMs,
        maxRoomMembers: limits.maxRoomMembers,
        maxRoomTtlMs: limits.maxRoomTtlMs,
      },
    })
  }

  #login(frame: LoginRequest): void {
    const { buckets, metrics, store, online, log, now } = this.#ctx
    const nonce = this.#nonce
    // One attempt per nonce, whatever its outcome.
    this.#nonce = undefined
    if (!nonce) return this.fail('login-failed', 'this connection has no login challenge left', 'login-failed')
    const ipWait = buckets.ipLogins.take(this.host)
    if (ipWait > 0) {
      metrics.rateLimited.inc({ scope: 'ip-logins' })
      metrics.loginFailures.inc({ reason: 'rate-limited' })
      return this.fail('rate-limited', 'too many logins from this address', 'rate-limited', frame.requestId, ipWait)
    }
    const checked = checkLogin(frame, { certhash: this.#ctx.certhash, nonce })
    if (!checked.ok) {
      metrics.loginFailures.inc({ reason: checked.reason })
      log({ level: 'info', msg: 'login failed', host: this.host, reason: checked.reason })
      const why = checked.reason === 'bad-prekey' ? 'the prekey is not signed by the identity key' : 'the login signature does not verify for this relay and connection'
      return this.fail('login-failed', why, 'login-failed', frame.requestId)
    }
    const userWait = buckets.userLogins.take(checked.user)
    if (userWait > 0) {
      metrics.rateLimited.inc({ scope: 'user-logins' })
      metrics.loginFailures.inc({ reason: 'rate-limited' })
      return this.fail('rate-limited', 'too many logins for this user', 'rate-limited', frame.requestId, userWait)
    }
    store.upsertUser({ user: checked.user, publicKey: checked.publicKey, prekey: checked.prekey, seenAt: now() })
    const previous = online.get(checked.user)
    if (previous) previous.fail('replaced', 'logged in on another connection', 'replaced')
    clearTimeout(this.#loginTimer)
    this.user = { id: checked.user, publicKey: checked.publicKey }
    this.#state = 'ready'
    online.set(checked.user, this)
    metrics.logins.inc()
    metrics.usersOnline.set(online.size)
    const queued = this.#ctx.messaging.queuedCount(checked.user)
    log({ level: 'info', msg: 'login', user: checked.user, host: this.host, transport: this.transport, queued })
    this.send({ t: 'ok', requestId: frame.requestId, user: checked.user, queued })
    this.delivery = new Delivery(this.#ctx, this)
    this.#ctx.presence.online(this)
    this.delivery.resume()
  }

  /** Sends a reply to a request. */
  reply(requestId: number, fields: Record<string, unknown> = {}): void {
    this.send({ ...fields, t: 'ok', requestId })
  }

  /**
   * Sends an error frame. Violations (malformed frames, rate limits, acting
   * for someone else...) are counted; too many within the window close the
   * connection.
   */
  error(code: ProtocolErrorCode, message: string, requestId?: number, retryAfterMs?: number): void {
    if (this.#state === 'closing' || this.#state === 'closed') return
    this.#ctx.metrics.errorsSent.inc({ code })
    this.send(errorFrame(code, message, requestId, retryAfterMs))
    if (VIOLATIONS.has(code) && this.#violations.record()) {
      this.fail('rate-limited', `too many violations (last: ${code})`, 'violations')
    }
  }

  /** Queues a frame for the client. A client that lets too much pile up is disconnected. */
  send(frame: ServerFrame): void {
    const outbound = this.#outbound
    if (!outbound || this.#ending) return
    outbound.push(encodeServerFrame(frame))
    if (outbound.bytes > this.#ctx.limits.maxOutboundBytes) this.fail('slow-consumer', 'the client is not reading its frames', 'slow-consumer')
  }

  /** Sends a datagram (presence, typing); loss and failures are ignored. */
  sendDatagram(bytes: Uint8Array): void {
    if (this.#state !== 'ready') return
    this.connection.datagrams.send(bytes).catch(() => {})
  }

  /**
   * Ends the session because of `code`: the client gets an error frame and
   * EOF, and the connection closes once the client has ended its side or
   * after a short grace.
   */
  fail(code: ProtocolErrorCode, message: string, reason: string, requestId?: number, retryAfterMs?: number): void {
    if (this.#state === 'closing' || this.#state === 'closed') return
    this.#ctx.metrics.disconnects.inc({ reason })
    this.#ctx.metrics.errorsSent.inc({ code })
    this.#ctx.log({ level: 'info', msg: 'closing connection', reason, code, user: this.user?.id, host: this.host })
    this.#closeReason = { code: CLOSE_CODES[code] ?? 'protocol-error', message: `${code}: ${message}`.slice(0, 200) }
    this.#beginClose(errorFrame(code, message, requestId, retryAfterMs), code === 'shutting-down' ? SHUTDOWN_GRACE_MS : CLOSE_GRACE_MS)
  }

  /** Closes without an error (relay shutdown uses fail('shutting-down')). */
  close(): Promise<void> {
    if (this.#state !== 'closing' && this.#state !== 'closed') this.#beginClose(undefined)
    return this.#done ?? Promise.resolve()
  }

  #beginClose(last: ServerFrame | undefined, graceMs = CLOSE_GRACE_MS): void {
    this.#state = 'closing'
    clearTimeout(this.#loginTimer)
    this.#detach()
    this.#writesEnded = this.#outbound?.end(last && encodeServerFrame(last)) ?? Promise.resolve()
    // The read loop ends when the client closes its side; this bounds the wait.
    this.#graceTimer = setTimeout(() => this.#abortNow(), graceMs)
    this.#graceTimer.unref?.()
    if (!this.#outbound) this.#abortNow()
  }

  #abortNow(): void {
    this.#abort.abort()
    void this.connection.close(this.#closeReason).catch(() => {})
  }

  /** Leaves the online map (if this session is the user's current one) and tells peers. */
  #detach(): void {
    const user = this.user
    if (!user) return
    const { online, metrics, presence, store, now, log } = this.#ctx
    if (online.get(user.id) === this) {
      online.delete(user.id)
      metrics.usersOnline.set(online.size)
      presence.offline(user.id)
      try {
        store.touchUser(user.id, now())
      } catch {
        // The store is closed (relay shutdown): nothing to record.
      }
      log({ level: 'info', msg: 'logout', user: user.id })
    }
    this.delivery?.stop()
  }

  async #refuseOtherStreams(): Promise<void> {
    try {
      for (;;) {
        const stream = await this.connection.acceptStream({ signal: this.#abort.signal })
        void stream.close({ code: 'unsupported', message: 'a relay connection has one control stream' }).catch(() => {})
      }
    } catch {
      // The connection or the session ended.
    }
  }

  async #readDatagrams(): Promise<void> {
    const reader = this.connection.datagrams.incoming.getReader()
    const stop = (): void => void reader.cancel().catch(() => {})
    this.#abort.signal.addEventListener('abort', stop, { once: true })
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return
        if (this.#state === 'ready') this.#ctx.presence.datagram(this, value)
      }
    } catch {
      // The connection ended.
    } finally {
      this.#abort.signal.removeEventListener('abort', stop)
    }
  }
}

function errorFrame(code: ProtocolErrorCode, message: string, requestId?: number, retryAfterMs?: number): ServerFrame {
  return {
    t: 'error',
    code,
    message,
    ...(requestId === undefined ? {} : { requestId }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  }
}
