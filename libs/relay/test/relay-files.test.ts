/**
 * The relay's database says who wrote to whom and when: a new database file
 * and SQLite's -wal and -shm companions are readable by their owner only.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { listen } from '@keypin/server'
import { startRelay } from '@keypin/relay/server'

test('a new database file and its WAL companions are created with mode 0600', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'keypin-relay-files-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  const listener = await listen({ host: '127.0.0.1', port: 0, webrtc: false })
  t.after(() => listener.close())
  const relay = startRelay({ listener, databasePath: join(dir, 'relay.db'), logger: false })
  try {
    const files = (await readdir(dir)).sort()
    assert.deepEqual(files, ['relay.db', 'relay.db-shm', 'relay.db-wal'])
    for (const file of files) assert.equal((await stat(join(dir, file))).mode & 0o777, 0o600, file)
  } finally {
    await relay.close()
  }
})
