/**
 * The chat's client-state file: what is set survives reopening, concurrent
 * changes all land, the file is private, and a damaged file is refused
 * rather than silently emptied.
 */
import assert from 'node:assert/strict'
import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { FileStateStore } from '../dist/state-file.js'
import { temporaryDirectory } from './support.js'

test('values survive reopening; deletes too; the file is 0600', async (t) => {
  const directory = await temporaryDirectory(t)
  const file = join(directory, 'state', 'chat.state.json')
  const store = await FileStateStore.open(file)
  assert.equal(await store.get('missing'), undefined)
  await Promise.all(Array.from({ length: 20 }, (_, index) => store.set(`key ${index}`, new Uint8Array([index, 255]))))
  await store.delete('key 3')
  await store.delete('never set')

  const reopened = await FileStateStore.open(file)
  for (let index = 0; index < 20; index++) {
    const value = await reopened.get(`key ${index}`)
    if (index === 3) assert.equal(value, undefined)
    else assert.deepEqual(value, new Uint8Array([index, 255]))
  }
  assert.equal((await stat(file)).mode & 0o777, 0o600)
})

test('a damaged state file is refused and left as it is', async (t) => {
  const directory = await temporaryDirectory(t)
  const file = join(directory, 'chat.state.json')
  for (const text of ['{"a": ', '[1, 2]', '{"a": 1}']) {
    await writeFile(file, text)
    await assert.rejects(FileStateStore.open(file), /state file .* (is not JSON|must hold a JSON object|is not a string)/)
    assert.equal(await readFile(file, 'utf8'), text)
  }
})
