/**
 * A secret key in a file: the chat user's Ed25519 secret, stored as one line
 * of hex with mode 0600 and created on first use.
 *
 * Like the server's TLS identity, the file is the identity: it is loaded as
 * it is or refused with a reason, never replaced, and a new one is published
 * atomically (written and flushed under a temporary name, then hard-linked
 * into place, so two processes racing to create it agree on one key). A file
 * that other users can read is refused, as ssh refuses a readable key.
 *
 * This file knows nothing about what the key is for: the caller generates
 * it and checks it.
 */
import { randomBytes } from 'node:crypto'
import { link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { KeypinError } from '@keypin/core'

const HEX_LINE = /^([0-9a-f]{2})+\n?$/

/**
 * The secret stored in `file`; when nothing exists there, `generate()`'s
 * result is written (mode 0600, directory 0700) and returned.
 */
export async function loadOrCreateSecretFile(file: string, generate: () => Uint8Array): Promise<Uint8Array> {
  const subject = `identity file ${JSON.stringify(file)}`
  const existing = await readSecretFile(file, subject)
  if (existing !== undefined) return existing

  try {
    await mkdir(dirname(file), { recursive: true, mode: 0o700 })
  } catch (cause) {
    throw new KeypinError('identity-error', `${subject} cannot be created: ${messageOf(cause)}`, { cause })
  }
  const temporary = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  let created = false
  try {
    try {
      const handle = await open(temporary, 'wx', 0o600)
      created = true
      try {
        await handle.writeFile(`${Buffer.from(generate()).toString('hex')}\n`)
        await handle.sync()
      } finally {
        await handle.close()
      }
      await link(temporary, file)
    } catch (cause) {
      if ((cause as { code?: unknown }).code !== 'EEXIST' || !created) {
        throw new KeypinError('identity-error', `${subject} cannot be written: ${messageOf(cause)}`, { cause })
      }
      // Another process created it first: its key is the one to use.
      const winner = await readSecretFile(file, subject)
      if (winner === undefined) throw new KeypinError('identity-error', `${subject} exists but cannot be opened`)
      return winner
    }
  } finally {
    if (created) await unlink(temporary).catch(() => undefined)
  }
  const written = await readSecretFile(file, subject)
  if (written === undefined) throw new KeypinError('identity-error', `${subject} vanished right after it was written`)
  return written
}

/** The secret in `file`, or `undefined` when nothing exists at that path. */
async function readSecretFile(file: string, subject: string): Promise<Uint8Array | undefined> {
  let text: string
  try {
    const info = await stat(file)
    if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
      const mode = (info.mode & 0o777).toString(8).padStart(3, '0')
      throw new KeypinError(
        'identity-error',
        `${subject} is readable by other users (mode ${mode}); restrict it with: chmod 600 ${file}`,
      )
    }
    text = await readFile(file, 'utf8')
  } catch (cause) {
    if (cause instanceof KeypinError) throw cause
    if ((cause as { code?: unknown }).code === 'ENOENT') return undefined
    throw new KeypinError('identity-error', `${subject} cannot be read: ${messageOf(cause)}`, { cause })
  }
  if (!HEX_LINE.test(text)) {
    throw new KeypinError('identity-error', `${subject} does not hold a secret key (expected one line of hex)`)
  }
  return new Uint8Array(Buffer.from(text.trim(), 'hex'))
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
