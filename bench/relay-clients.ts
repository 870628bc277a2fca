/**
 * The load generator's QUIC clients: one QUIC connection and one control
 * stream each, speaking either the relay protocol (hello, a real Ed25519
 * login, `send` and `room-send` with pre-sealed bodies, an `ack` for every
 * message received) or the forwarder's binary frames. Both look the same
 * to the load (relay-load.ts): an address, send(), sendMany(), and
 * `delivered` callbacks.
 *
 * Frames are built as strings and encoded once; frames queued in one
 * event-loop turn go out in one stream write per client. Received messages
 * are acknowledged, never opened (decryption is the client's cost, not the
 * relay's). The raw-UDP ceiling's client is in relay-udp-client.ts.
 */
import type { Connection, Stream } from '@keypin/core'
import { dial } from '@keypin/quic-client'
import {
  FrameDecoder,
  concatFrames,
  encodeFrame,
  fromBase64url,
  generateIdentity,
  generatePrekey,
  signLogin,
  toBase64url,
  userIdOf,
  type IdentityKeyPair,
} from '@keypin/relay'
import { withTimeout } from './timing.js'

export interface ClientEvents {
  /** A message reached `client`; `from` is the sender's address, `id` the message id. */
  delivered(client: LoadClient, from: string, id: string): void
  /** Messages the relay answered `stored` (a room-send counts each stored copy). */
  stored(count: number): void
  receipt(): void
  /** An error frame or a refused room-send entry. */
  error(text: string): void
}

export interface LoadClient {
  /** Local index in this generator. */
  readonly local: number
  /** What others address it by: a relay user id, or the forwarder index as a string. */
  readonly address: string
  /** One message to `to`. */
  send(to: string, id: string): void
  /** One message to each of `to` (a room message: one room-send frame on the relay). */
  sendMany(to: readonly string[], id: string, room: string): void
  close(): Promise<void>
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** A frame from an ASCII JSON string: length prefix and bytes, one allocation. */
function asciiFrame(text: string): Uint8Array {
  const frame = new Uint8Array(4 + text.length)
  new DataView(frame.buffer).setUint32(0, text.length)
  encoder.encodeInto(text, frame.subarray(4))
  return frame
}

// ---- batched writes ----

const dirty = new Set<FrameWriter>()
let flushScheduled = false

function flushAll(): void {
  flushScheduled = false
  for (const writer of dirty) writer.flush()
  dirty.clear()
}

/** A stream writer whose frames are joined per event-loop turn. */
class FrameWriter {
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>
  #pending: Uint8Array[] = []

  constructor(writer: WritableStreamDefaultWriter<Uint8Array>) {
    this.#writer = writer
    writer.closed.catch(() => {})
  }

  push(frame: Uint8Array): void {
    this.#pending.push(frame)
    dirty.add(this)
    if (!flushScheduled) {
      flushScheduled = true
      setImmediate(flushAll)
    }
  }

  flush(): void {
    if (this.#pending.length === 0) return
    const data = concatFrames(this.#pending)
    this.#pending = []
    this.#writer.write(data).catch(() => {})
  }

  /** Writes now (set-up frames that must not wait for a turn). */
  writeNow(frame: Uint8Array): Promise<void> {
    return this.#writer.write(frame)
  }
}

async function readFrames(stream: Stream, onPayload: (payload: Uint8Array) => void): Promise<void> {
  const reader = stream.readable.getReader()
  const frames = new FrameDecoder()
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      for (const payload of frames.push(value)) onPayload(payload)
    }
  } catch {
    // The connection closed.
  }
}

// ---- relay protocol ----

interface Pending {
  resolve(frame: Record<string, unknown>): void
  reject(error: Error): void
}

export class RelayLoadClient implements LoadClient {
  readonly local: number
  readonly address: string
  readonly #connection: Connection
  readonly #writer: FrameWriter
  readonly #events: ClientEvents
  readonly #bodies: readonly string[]
  readonly #pending = new Map<number, Pending>()
  #requestId = 1
  #body = 0

  private constructor(local: number, identity: IdentityKeyPair, connection: Connection, stream: Stream, events: ClientEvents, bodies: readonly string[]) {
    this.local = local
    this.address = userIdOf(identity.publicKey)
    this.#connection = connection
    this.#writer = new FrameWriter(stream.writable.getWriter())
    this.#events = events
    this.#bodies = bodies
  }

  /** Dials, sends hello, signs the relay's challenge and logs in; resolves when the relay said ok. */
  static async connect(address: string, local: number, events: ClientEvents, bodies: readonly string[]): Promise<RelayLoadClient> {
    const certhash = address.split(':').at(-1) as string
    const identity = generateIdentity()
    const prekey = generatePrekey(identity, 1).prekey
    const connection = await dial(address, { signal: AbortSignal.timeout(20_000) })
    const stream = await connection.openStream()
    const client = new RelayLoadClient(local, identity, connection, stream, events, bodies)
    const hello = new Promise<Record<string, unknown>>((resolve, reject) => client.#pending.set(-1, { resolve, reject }))
    void readFrames(stream, (payload) => client.#receive(payload))
    await client.#writer.writeNow(encodeFrame({ t: 'hello', v: 1 }))
    const challenge = await withTimeout(hello, 20_000, 'relay hello')
    const nonce = fromBase64url(String(challenge['nonce']))
    if (!nonce) throw new Error('relay hello without a nonce')
    await client.request({
      t: 'login',
      publicKey: toBase64url(identity.publicKey),
      signature: toBase64url(signLogin(identity, { certhash, nonce })),
      prekey: { id: prekey.id, publicKey: toBase64url(prekey.publicKey), createdAt: prekey.createdAt, signature: toBase64url(prekey.signature) },
    })
    return client
  }

  /** A request with its own requestId; resolves with the ok frame, rejects on an error frame. */
  request(frame: Record<string, unknown>, limitMs = 20_000): Promise<Record<string, unknown>> {
    const requestId = this.#requestId++
    const answer = new Promise<Record<string, unknown>>((resolve, reject) => this.#pending.set(requestId, { resolve, reject }))
    this.#writer.push(encodeFrame({ ...frame, requestId }))
    return withTimeout(answer, limitMs, `${String(frame['t'])} request`)
  }

  #nextBody(): string {
    const body = this.#bodies[this.#body] as string
    this.#body = (this.#body + 1) % this.#bodies.length
    return body
  }

  send(to: string, id: string): void {
    this.#writer.push(
      asciiFrame(`{"t":"send","requestId":${this.#requestId++},"from":"${this.address}","to":"${to}","id":"${id}","context":"dm","message":"${this.#nextBody()}"}`),
    )
  }

  sendMany(to: readonly string[], id: string, room: string): void {
    // The sender seals the text once per recipient: one body each.
    const entries = to.map((user) => `{"to":"${user}","id":"${id}","message":"${this.#nextBody()}"}`)
    this.#writer.push(
      asciiFrame(`{"t":"room-send","requestId":${this.#requestId++},"room":"${room}","from":"${this.address}","messages":[${entries.join(',')}]}`),
    )
  }

  #receive(payload: Uint8Array): void {
    const frame = JSON.parse(decoder.decode(payload)) as Record<string, unknown>
    switch (frame['t']) {
      case 'message': {
        const from = frame['from'] as string
        const id = frame['id'] as string
        this.#writer.push(asciiFrame(`{"t":"ack","from":"${from}","id":"${id}"}`))
        this.#events.delivered(this, from, id)
        return
      }
      case 'receipt':
        return this.#events.receipt()
      case 'ok': {
        const pending = this.#pending.get(frame['requestId'] as number)
        if (pending) {
          this.#pending.delete(frame['requestId'] as number)
          return pending.resolve(frame)
        }
        const results = frame['results'] as { state?: string; error?: string }[] | undefined
        if (!results) return this.#events.stored(1)
        let stored = 0
        for (const result of results) {
          if (result.state === 'stored') stored++
          else this.#events.error(`room-send entry: ${String(result.error)}`)
        }
        return this.#events.stored(stored)
      }
      case 'hello': {
        const pending = this.#pending.get(-1)
        this.#pending.delete(-1)
        return pending?.resolve(frame)
      }
      case 'error': {
        const text = `${String(frame['code'])}: ${String(frame['message'])}`
        const pending = this.#pending.get(frame['requestId'] as number)
        if (pending) {
          this.#pending.delete(frame['requestId'] as number)
          return pending.reject(new Error(text))
        }
        return this.#events.error(text)
      }
      default:
        return
    }
  }

  async close(): Promise<void> {
    await this.#connection.close().catch(() => {})
  }
}

// ---- forwarder baseline ----

export class ForwarderLoadClient implements LoadClient {
  readonly local: number
  readonly address: string
  readonly #connection: Connection
  readonly #writer: FrameWriter
  readonly #events: ClientEvents
  readonly #payloadBytes: number

  private constructor(local: number, index: number, connection: Connection, stream: Stream, events: ClientEvents, payloadBytes: number) {
    this.local = local
    this.address = String(index)
    this.#connection = connection
    this.#writer = new FrameWriter(stream.writable.getWriter())
    this.#events = events
    this.#payloadBytes = payloadBytes
  }

  /** Dials and claims `index`; `payloadBytes` is the frame payload size of every message (the relay's send frame size). */
  static async connect(address: string, local: number, index: number, events: ClientEvents, payloadBytes: number): Promise<ForwarderLoadClient> {
    const connection = await dial(address, { signal: AbortSignal.timeout(20_000) })
    const stream = await connection.openStream()
    const client = new ForwarderLoadClient(local, index, connection, stream, events, payloadBytes)
    void readFrames(stream, (payload) => client.#receive(payload))
    const hello = new Uint8Array(8)
    new DataView(hello.buffer).setUint32(0, 4)
    new DataView(hello.buffer).setUint32(4, index)
    await client.#writer.writeNow(hello)
    return client
  }

  send(to: string, id: string): void {
    const frame = new Uint8Array(4 + this.#payloadBytes)
    new DataView(frame.buffer).setUint32(0, this.#payloadBytes)
    writeIndexedMessage(frame.subarray(4), Number(to), id)
    this.#writer.push(frame)
  }

  sendMany(to: readonly string[], id: string): void {
    for (const recipient of to) this.send(recipient, id)
  }

  #receive(payload: Uint8Array): void {
    const { peer, id } = readIndexedMessage(payload)
    this.#events.delivered(this, String(peer), id)
  }

  async close(): Promise<void> {
    await this.#connection.close().catch(() => {})
  }
}

// ---- baselines' message layout ----

/**
 * A baseline message (a forwarder frame's payload, or a whole UDP
 * datagram): u32 peer index (the recipient on the way in, the sender on
 * the way out), u8 id length, the ASCII id, zero filler to the end. Writes
 * into `into`, which is zeroed and as long as the message should be.
 */
export function writeIndexedMessage(into: Uint8Array, peer: number, id: string): void {
  new DataView(into.buffer, into.byteOffset, into.byteLength).setUint32(0, peer)
  into[4] = id.length
  encoder.encodeInto(id, into.subarray(5))
}

export function readIndexedMessage(message: Uint8Array): { peer: number; id: string } {
  const peer = new DataView(message.buffer, message.byteOffset, message.byteLength).getUint32(0)
  return { peer, id: String.fromCharCode(...message.subarray(5, 5 + (message[4] as number))) }
}

