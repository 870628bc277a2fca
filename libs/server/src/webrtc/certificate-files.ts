/**
 * The listener's certificate and key as files, because node-datachannel
 * only takes a DTLS identity as PEM file paths. They are written once per
 * listener into a fresh private directory (0700, files 0600) and removed
 * when the listener closes, so the key exists on disk no longer and no more
 * visibly than needed. A process that exits without closing its listener
 * still removes them on the way out (a killed one cannot).
 *
 * This file does not generate or validate identities.
 */
import { rmSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Identity } from '../identity.js'

export interface CertificateFiles {
  readonly certificateFile: string
  readonly keyFile: string
  /** Deletes the directory and both files; safe to call more than once. */
  remove(): Promise<void>
}

/** Directories not yet removed, deleted synchronously if the process exits first. */
const pending = new Set<string>()

function removeAtExit(): void {
  for (const directory of pending) {
    try {
      rmSync(directory, { recursive: true, force: true })
    } catch {
      // Nothing more can be done while exiting.
    }
  }
}

export async function writeCertificateFiles(identity: Identity): Promise<CertificateFiles> {
  // mkdtemp creates the directory with mode 0700.
  const directory = await mkdtemp(join(tmpdir(), 'keypin-dtls-'))
  if (pending.size === 0) process.on('exit', removeAtExit)
  pending.add(directory)
  const certificateFile = join(directory, 'certificate.pem')
  const keyFile = join(directory, 'key.pem')
  const remove = async (): Promise<void> => {
    await rm(directory, { recursive: true, force: true }).catch(() => {})
    pending.delete(directory)
    if (pending.size === 0) process.off('exit', removeAtExit)
  }
  try {
    // 'wx': never follow or overwrite something planted in between.
    await writeFile(certificateFile, identity.certificatePem, { mode: 0o600, flag: 'wx' })
    await writeFile(keyFile, identity.privateKeyPem, { mode: 0o600, flag: 'wx' })
  } catch (error) {
    await remove()
    throw error
  }
  return { certificateFile, keyFile, remove }
}
