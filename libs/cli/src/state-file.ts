/**
 * A key-value store in one JSON file, for the relay client's state (the keys
 * and counters that must outlive a restart of `keypin chat`). Values are
 * bytes, stored base64; the file is private (0600) and replaced atomically
 * on every change, so a crash leaves the old state or the new one, never a
 * torn file. Changes are written one at a time, in call order.
 *
 * It has the shape of @keypin/relay's ClientStateStore without depending on
 * it. One process per file: two chats sharing a file would overwrite each
 * other's changes.
 */
import { randomBytes } from 'node:crypto'
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { KeypinError } from '@keypin/core'

export class FileStateStore {
  readonly #file: string
  readonly #entries: Map<string, string>
  #writing: Promise<void> = Promise.resolve()

  private constructor(file: string, entries: Map<string, string>) {
    this.#file = file
    this.#entries = entries
  }

  /** Opens `file`, starting empty when it does not exist yet. */
  static async open(file: string): Promise<FileStateStore> {
    const subject = `state file ${JSON.stringify(file)}`
    let text: string
    try {
      text = await readFile(file, 'utf8')
    } catch (cause) {
      if ((cause as { code?: unknown }).code === 'ENOENT') return new FileStateStore(file, new Map())
      throw new KeypinError('identity-error', `${subject} cannot be read: ${messageOf(cause)}`, { cause })
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(text)
    } catch (cause) {
      throw new KeypinError('identity-error', `${subject} is not JSON: ${messageOf(cause)}`, { cause })
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new KeypinError('identity-error', `${subject} must hold a JSON object`)
    }
    const entries = new Map<string, string>()
    for (const [key, value] of Object.entries(parsed)) {
      if (typeof value !== 'string') throw new KeypinError('identity-error', `${subject}: entry ${JSON.stringify(key)} is not a string`)
      entries.set(key, value)
    }
    return new FileStateStore(file, entries)
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const value = this.#entries.get(key)
    return value === undefined ? undefined : new Uint8Array(Buffer.from(value, 'base64'))
  }

  set(key: string, value: Uint8Array): Promise<void> {
    this.#entries.set(key, Buffer.from(value).toString('base64'))
    return this.#save()
  }

  delete(key: string): Promise<void> {
    if (!this.#entries.delete(key)) return Promise.resolve()
    return this.#save()
  }

  /** Queues a write of the current entries after the writes already queued. */
  #save(): Promise<void> {
    const write = this.#writing.then(() => this.#write())
    this.#writing = write.catch(() => {})
    return write
  }

  async #write(): Promise<void> {
    const text = `${JSON.stringify(Object.fromEntries(this.#entries), null, 1)}\n`
    const directory = dirname(this.#file)
    const temporary = join(directory, `.${basename(this.#file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
    await mkdir(directory, { recursive: true, mode: 0o700 })
    const handle = await open(temporary, 'wx', 0o600)
    try {
      try {
        await handle.writeFile(text)
        await handle.sync()
      } finally {
        await handle.close()
      }
      await rename(temporary, this.#file)
    } catch (error) {
      await unlink(temporary).catch(() => undefined)
      throw error
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
