/**
 * Shared helpers for the relay tests: a real listener on 127.0.0.1 with a
 * relay on it, real QUIC clients logged in through the SDK, an event
 * recorder with bounded waits, and a raw control stream for crafting frames
 * by hand. Not a test file itself.
 *
 * Everything a helper creates is closed by the test context's `after` hook.
 */
import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import type { Connection, Stream } from '@keypin/core'
import { dial } from '@keypin/quic-client'
import { listen, type KeypinListener } from '@keypin/server'
import {
  connectRelay,
  encodeFrame,
  FrameDecoder,
  generateIdentity,
  generatePrekey,
  RelayError,
  signLogin,
  toBase64url,
  fromBase64url,
  type IdentityKeyPair,
  type RelayClient,
  type RelayClientOptions,
  type RelayEvents,
  type SignedPrekey,
} from '@keypin/relay'
import { startRelay, type RelayLogEntry, type RelayServer, type RelayServerOptions } from '@keypin/relay/server'

export const STEP_MS = 5_000

export interface TestRelay {
  readonly listener: KeypinListener
  readonly relay: RelayServer
  readonly address: string
  readonly logs: RelayLogEntry[]
}

/** A listener on 127.0.0.1:0 with a relay on it (in-memory database unless given). */
export async function startTestRelay(t: TestContext, options: Partial<Omit<RelayServerOptions, 'listener'>> = {}): Promise<TestRelay> {
  const listener = await listen({ host: '127.0.0.1', port: 0, webrtc: false })
  const logs: RelayLogEntry[] = []
  const relay = startRelay({ databasePath: ':memory:', logger: (entry) => logs.push(entry), ...options, listener })
  t.after(async () => {
    await relay.close()
    await listener.close()
  })
  return { listener, relay, address: listener.address, logs }
}

/** Records every event of a client, and waits for the ones a test expects. */
export class Recorder {
  readonly events: { [K in keyof RelayEvents]: RelayEvents[K][] } = {
    direct: [],
    room: [],
    receipt: [],
    presence: [],
    typing: [],
    'member-joined': [],
    'member-left': [],
    'room-closed': [],
    rejected: [],
    close: [],
  }
  readonly #waiters = new Set<() => void>()

  constructor(client: RelayClient) {
    for (const name of Object.keys(this.events) as (keyof RelayEvents)[]) {
      client.on(name, (event) => {
        ;(this.events[name] as unknown[]).push(event)
        for (const wake of [...this.#waiters]) wake()
      })
    }
  }

  /** Waits until `count` events of `name` (matching `filter`) have arrived; returns them. */
  async wait<K extends keyof RelayEvents>(
    name: K,
    count = 1,
    filter: (event: RelayEvents[K]) => boolean = () => true,
    ms = STEP_MS,
  ): Promise<RelayEvents[K][]> {
    const matching = (): RelayEvents[K][] => (this.events[name] as RelayEvents[K][]).filter(filter)
    if (matching().length >= count) return matching()
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(check)
        reject(new Error(`timed out after ${ms} ms waiting for ${count} "${String(name)}" events (have ${matching().length})`))
      }, ms)
      const check = (): void => {
        if (matching().length < count) return
        clearTimeout(timer)
        this.#waiters.delete(check)
        resolve()
      }
      this.#waiters.add(check)
    })
    return matching()
  }
}

export interface TestClient {
  readonly client: RelayClient
  readonly connection: Connection
  readonly identity: IdentityKeyPair
  readonly recorder: Recorder
}

/** Dials the relay over QUIC and logs in with `identity` (fresh unless given). */
export async function connectClient(
  t: TestContext,
  address: string,
  identity: IdentityKeyPair = generateIdentity(),
  options: Partial<RelayClientOptions> = {},
): Promise<TestClient> {
  const connection = await dial(address, { signal: AbortSignal.timeout(STEP_MS) })
  t.after(() => connection.close().catch(() => {}))
  const certhash = address.split(':').at(-1) as string
  const client = await connectRelay(connection, { identity, certhash, requestTimeoutMs: STEP_MS, ...options })
  t.after(() => client.close().catch(() => {}))
  return { client, connection, identity, recorder: new Recorder(client) }
}

/** Awaits `action`, which must reject with a RelayError of `code`. */
export async function rejectsWith(action: Promise<unknown>, code: string, ms = STEP_MS): Promise<RelayError> {
  let caught: unknown
  try {
    await withTimeout(action, ms, `expecting a ${code} rejection`)
  } catch (error) {
    caught = error
  }
  assert.ok(caught instanceof RelayError, `expected a RelayError ${code}, got ${String(caught)}`)
  assert.equal(caught.code, code, `wrong code (message: ${caught.message})`)
  return caught
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

export async function waitUntil(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting until ${what}`)
    await delay(10)
  }
}

/** A frame the relay sent, as parsed JSON. */
export type Frame = Record<string, unknown> & { t: string }

/**
 * A control stream driven by hand: the test writes frames (or raw bytes)
 * and reads what the relay answers, with no SDK in between.
 */
export class RawControl {
  readonly connection: Connection
  readonly stream: Stream
  readonly certhash: string
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>
  readonly #decoder = new FrameDecoder(1 << 20)
  readonly #frames: Frame[] = []
  #ended = false
  #nextRequest = 1
  nonce: Uint8Array | undefined

  private constructor(connection: Connection, stream: Stream, certhash: string) {
    this.connection = connection
    this.stream = stream
    this.certhash = certhash
    this.#writer = stream.writable.getWriter()
    this.#writer.closed.catch(() => {})
    this.#reader = stream.readable.getReader()
  }

  static async open(t: TestContext, address: string): Promise<RawControl> {
    const connection = await dial(address, { signal: AbortSignal.timeout(STEP_MS) })
    t.after(() => connection.close().catch(() => {}))
    const stream = await connection.openStream()
    return new RawControl(connection, stream, address.split(':').at(-1) as string)
  }

  get ended(): boolean {
    return this.#ended
  }

  writeBytes(bytes: Uint8Array): Promise<void> {
    return this.#writer.write(bytes)
  }

  send(frame: Record<string, unknown>): Promise<void> {
    return this.writeBytes(encodeFrame(frame))
  }

  /** Sends a request with a fresh request id; returns the id. */
  async request(frame: Record<string, unknown>): Promise<number> {
    const requestId = this.#nextRequest++
    await this.send({ ...frame, requestId })
    return requestId
  }

  /** The next frame from the relay, or undefined at EOF (or when the stream fails). */
  async next(ms = STEP_MS): Promise<Frame | undefined> {
    const deadline = Date.now() + ms
    while (this.#frames.length === 0 && !this.#ended) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no frame from the relay within ${ms} ms`)
      let result: ReadableStreamReadResult<Uint8Array>
      try {
        result = await withTimeout(this.#reader.read(), left, 'reading a frame')
      } catch (error) {
        if (error instanceof Error && error.message.startsWith('timed out')) throw error
        this.#ended = true
        break
      }
      if (result.done) this.#ended = true
      else for (const payload of this.#decoder.push(result.value)) this.#frames.push(JSON.parse(new TextDecoder().decode(payload)) as Frame)
    }
    return this.#frames.shift()
  }

  /** The next frame of type `t` (others are skipped). */
  async nextOf(t: string, ms = STEP_MS): Promise<Frame> {
    const deadline = Date.now() + ms
    for (;;) {
      const frame = await this.next(Math.max(1, deadline - Date.now()))
      if (!frame) throw new Error(`the relay ended the stream before a ${t} frame`)
      if (frame.t === t) return frame
    }
  }

  /** Reads until EOF; returns every frame on the way. */
  async untilEnd(ms = STEP_MS): Promise<Frame[]> {
    const frames: Frame[] = []
    for (;;) {
      const frame = await this.next(ms)
      if (!frame) return frames
      frames.push(frame)
    }
  }

  /** Sends hello and reads the relay's hello (keeping its nonce). */
  async hello(): Promise<Frame> {
    await this.send({ t: 'hello', v: 1 })
    const hello = await this.nextOf('hello')
    this.nonce = fromBase64url(hello['nonce'] as string)
    return hello
  }

  /** A login frame for `identity` answering `nonce` for `certhash` (defaults: this connection's). */
  loginFrame(identity: IdentityKeyPair, options: { nonce?: Uint8Array; certhash?: string; prekey?: SignedPrekey } = {}): Record<string, unknown> {
    const nonce = options.nonce ?? this.nonce
    assert.ok(nonce, 'hello first')
    const prekey = options.prekey ?? generatePrekey(identity, 1).prekey
    return {
      t: 'login',
      publicKey: toBase64url(identity.publicKey),
      signature: toBase64url(signLogin(identity, { certhash: options.certhash ?? this.certhash, nonce })),
      prekey: {
        id: prekey.id,
        publicKey: toBase64url(prekey.publicKey),
        createdAt: prekey.createdAt,
        signature: toBase64url(prekey.signature),
      },
    }
  }

  /** hello + login; returns the relay's answer to the login. */
  async login(identity: IdentityKeyPair): Promise<Frame> {
    if (!this.nonce) await this.hello()
    const requestId = await this.request(this.loginFrame(identity))
    const reply = await this.next()
    assert.ok(reply, 'the relay ended the stream instead of answering the login')
    assert.equal(reply['requestId'], requestId)
    return reply
  }
}
