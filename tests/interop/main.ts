/**
 * `npm run test:interop`: runs the interop matrix, prints it as Markdown,
 * writes it to tests/interop/results/matrix.md (or the file after --out),
 * and exits with 1 when any cell failed (2 when the matrix could not run).
 * Progress goes to stderr, the matrix to stdout.
 */
import { failures, runMatrix } from './matrix.js'
import { DEFAULT_REPORT, writeReport } from './report.js'

const outAt = process.argv.indexOf('--out')
const file = outAt > 0 ? process.argv[outAt + 1] ?? DEFAULT_REPORT : DEFAULT_REPORT

try {
  const result = await runMatrix({ log: (line) => process.stderr.write(`${line}\n`) })
  process.stdout.write(await writeReport(result, file))
  const failed = failures(result)
  process.stderr.write(`\n${failed.length === 0 ? 'every cell passed' : `${failed.length} cell(s) failed`}; matrix written to ${file}\n`)
  // Native WebRTC threads may outlive the listener briefly; the verdict is in.
  process.exit(failed.length === 0 ? 0 : 1)
} catch (error) {
  process.stderr.write(`the interop matrix could not run: ${(error as Error).stack ?? String(error)}\n`)
  process.exit(2)
}
