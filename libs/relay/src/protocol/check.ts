/**
 * Field readers for frames decoded from JSON. Each returns the field with
 * its type narrowed or throws a {@link FrameError} naming the field; none
 * echoes the offending value, which may be arbitrary peer input.
 */
import { isUserId } from '../crypto/index.js'
import { fromBase64url } from './base64url.js'
import { MESSAGE_ID, ROOM_ID } from './limits.js'

/** A frame (or one of its fields) is malformed. `fatal` frames end the connection. */
export class FrameError extends Error {
  override readonly name: string = 'FrameError'
  constructor(
    message: string,
    readonly requestId?: number,
    readonly fatal = false,
  ) {
    super(message)
  }
}

export type Fields = Record<string, unknown>

const BASE64URL = /^[A-Za-z0-9_-]*$/

export class FieldReader {
  constructor(
    readonly fields: Fields,
    readonly what: string,
    readonly requestId?: number,
  ) {}

  fail(message: string): never {
    throw new FrameError(`${this.what}: ${message}`, this.requestId)
  }

  #get(name: string): unknown {
    return Object.hasOwn(this.fields, name) ? this.fields[name] : undefined
  }

  has(name: string): boolean {
    return this.#get(name) !== undefined
  }

  string(name: string, maxLength: number): string {
    const value = this.#get(name)
    if (typeof value !== 'string') this.fail(`${name} must be a string`)
    if (value.length > maxLength) this.fail(`${name} is longer than ${maxLength} characters`)
    return value
  }

  integer(name: string, min: number, max: number): number {
    const value = this.#get(name)
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) this.fail(`${name} must be an integer`)
    if (value < min || value > max) this.fail(`${name} must be between ${min} and ${max}`)
    return value
  }

  boolean(name: string): boolean {
    const value = this.#get(name)
    if (typeof value !== 'boolean') this.fail(`${name} must be a boolean`)
    return value
  }

  userId(name: string): string {
    const value = this.#get(name)
    if (!isUserId(value)) this.fail(`${name} must be a user id`)
    return value
  }

  roomId(name: string): string {
    const value = this.#get(name)
    if (typeof value !== 'string' || !ROOM_ID.test(value)) this.fail(`${name} must be a room id`)
    return value
  }

  messageId(name: string): string {
    const value = this.#get(name)
    if (typeof value !== 'string' || !MESSAGE_ID.test(value)) this.fail(`${name} must be a message id`)
    return value
  }

  /** A base64url string of at most `maxBytes` decoded bytes (shape only; not decoded here). */
  base64url(name: string, maxBytes: number, exactBytes?: number): string {
    const value = this.#get(name)
    if (typeof value !== 'string' || !BASE64URL.test(value) || value.length % 4 === 1) {
      this.fail(`${name} must be a base64url string`)
    }
    const bytes = Math.floor((value.length * 3) / 4)
    if (exactBytes !== undefined && bytes !== exactBytes) this.fail(`${name} must encode ${exactBytes} bytes`)
    if (bytes > maxBytes) this.fail(`${name} is over ${maxBytes} bytes`)
    return value
  }

  /** A base64url field decoded (canonical spelling only). */
  bytes(name: string, maxBytes: number, exactBytes?: number): Uint8Array {
    const bytes = fromBase64url(this.base64url(name, maxBytes, exactBytes))
    if (!bytes) this.fail(`${name} is not canonical base64url`)
    return bytes
  }

  object(name: string): FieldReader {
    const value = this.#get(name)
    if (!isPlainObject(value)) this.fail(`${name} must be an object`)
    return new FieldReader(value, `${this.what} ${name}`, this.requestId)
  }

  array(name: string, maxLength: number): unknown[] {
    const value = this.#get(name)
    if (!Array.isArray(value)) this.fail(`${name} must be an array`)
    if (value.length > maxLength) this.fail(`${name} has more than ${maxLength} entries`)
    return value
  }

  /** Reads array entries that must be objects. */
  objects(name: string, maxLength: number): FieldReader[] {
    return this.array(name, maxLength).map((entry, index) => {
      if (!isPlainObject(entry)) this.fail(`${name}[${index}] must be an object`)
      return new FieldReader(entry, `${this.what} ${name}[${index}]`, this.requestId)
    })
  }

  oneOf<T extends string>(name: string, values: readonly T[]): T {
    const value = this.#get(name)
    if (typeof value !== 'string' || !(values as readonly string[]).includes(value)) {
      this.fail(`${name} must be one of ${values.join(', ')}`)
    }
    return value as T
  }
}

export function isPlainObject(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

const decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * Decodes a frame payload into a JSON object with a string `t`. Anything
 * else is a fatal {@link FrameError}: a peer that cannot produce one JSON
 * object per frame is not speaking the protocol. The message never quotes
 * the payload (JSON.parse errors do, so they are not passed on).
 */
export function decodeJsonObject(payload: Uint8Array): { t: string; fields: Fields } {
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(payload))
  } catch {
    throw new FrameError('frame payload is not UTF-8 JSON', undefined, true)
  }
  if (!isPlainObject(value)) throw new FrameError('frame payload is not a JSON object', undefined, true)
  const t = value['t']
  if (typeof t !== 'string') throw new FrameError('frame has no string "t" type field', undefined, true)
  return { t, fields: value }
}
