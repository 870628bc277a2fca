/**
 * The interop matrix as part of `npm test`: the same run as
 * `npm run test:interop` (one listener, every client kind, every scenario),
 * failing with the list of failed cells. The Markdown matrix is written to
 * tests/interop/results/matrix.md and printed as the test's diagnostic.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { COLUMNS, failures, runMatrix } from './matrix.js'
import { writeReport } from './report.js'

test('every client kind passes every scenario against one listener', { timeout: 150_000 }, async (t) => {
  const result = await runMatrix()
  const text = await writeReport(result)
  for (const line of text.trimEnd().split('\n')) t.diagnostic(line)

  // Every cell ran: four kinds by every column, nothing missing or doubled.
  assert.deepEqual(result.kinds.map((kind) => kind.id), ['chromium-classic', 'chromium-no-munge', 'node-webrtc', 'node-quic'])
  const ran = new Set(result.cells.map((cell) => `${cell.kind}/${cell.column}`))
  assert.equal(result.cells.length, result.kinds.length * COLUMNS.length)
  assert.equal(ran.size, result.cells.length)

  const failed = failures(result).map((cell) => `${cell.kind} / ${cell.column}: ${cell.detail}`)
  assert.deepEqual(failed, [], `failed cells:\n${failed.join('\n')}`)
})
