/**
 * The secret-key file behind `keypin chat --identity`: created once with
 * mode 0600 and then read back as it is; a readable, garbled or racing file
 * never leads to a silently different key.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { chmod, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { KeypinError } from '@keypin/core'
import { loadOrCreateSecretFile } from '../dist/identity-file.js'
import { temporaryDirectory } from './support.js'

const fresh = (): Uint8Array => new Uint8Array(randomBytes(32))

test('creates the file (0600, in a new 0700 directory) and reads the same key back', async (t) => {
  const directory = await temporaryDirectory(t)
  const file = join(directory, 'nested', 'chat.key')
  const created = await loadOrCreateSecretFile(file, fresh)
  assert.equal(created.length, 32)
  assert.equal((await stat(file)).mode & 0o777, 0o600)
  assert.equal((await stat(join(directory, 'nested'))).mode & 0o777, 0o700)
  assert.equal(await readFile(file, 'utf8'), `${Buffer.from(created).toString('hex')}\n`)
  const again = await loadOrCreateSecretFile(file, () => assert.fail('must not generate a second key'))
  assert.deepEqual(again, created)
})

test('processes racing to create the file end up with one key', async (t) => {
  const directory = await temporaryDirectory(t)
  const file = join(directory, 'chat.key')
  const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateSecretFile(file, fresh)))
  for (const key of keys) assert.deepEqual(key, keys[0])
})

test('a file others can read, or one that is not hex, is refused and left alone', async (t) => {
  const directory = await temporaryDirectory(t)
  const open = join(directory, 'open.key')
  await writeFile(open, `${'ab'.repeat(32)}\n`)
  await chmod(open, 0o644)
  await assert.rejects(loadOrCreateSecretFile(open, fresh), (error: unknown) => {
    assert.ok(error instanceof KeypinError)
    assert.equal(error.code, 'identity-error')
    assert.match(error.message, /readable by other users \(mode 644\); restrict it with: chmod 600 /)
    return true
  })

  const garbled = join(directory, 'garbled.key')
  await writeFile(garbled, 'not hex at all\n', { mode: 0o600 })
  await assert.rejects(loadOrCreateSecretFile(garbled, fresh), /does not hold a secret key/)
  assert.equal(await readFile(garbled, 'utf8'), 'not hex at all\n')
})
