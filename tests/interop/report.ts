/**
 * Renders an interop matrix as Markdown (a grid of pass/FAIL, then every
 * cell's detail) and writes it to tests/interop/results/matrix.md, where CI
 * logs and the README pick it up. Columns are padded so the same text reads
 * well on a terminal.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { failures, type Cell, type MatrixResult } from './matrix.js'

/** tests/interop/results/matrix.md, from this file's build in tests/dist/interop/. */
export const DEFAULT_REPORT = fileURLToPath(new URL('../../interop/results/matrix.md', import.meta.url))

const GRID_REASON = 60

export function renderMarkdown(result: MatrixResult): string {
  const cellOf = (kind: string, column: string): Cell | undefined => result.cells.find((c) => c.kind === kind && c.column === column)
  const labelOf = new Map(result.kinds.map((kind) => [kind.id, kind.label]))
  const titleOf = new Map(result.columns.map((column) => [column.id, column.title]))
  const failed = failures(result)
  const total = result.kinds.length * result.columns.length
  const passed = result.cells.filter((cell) => cell.ok).length

  const grid = table(
    ['client \\ scenario', ...result.columns.map((column) => column.title)],
    result.kinds.map((kind) => [
      kind.label,
      ...result.columns.map((column) => {
        const cell = cellOf(kind.id, column.id)
        if (!cell) return 'not run'
        return cell.ok ? 'pass' : `FAIL: ${shorten(cell.detail, GRID_REASON)}`
      }),
    ]),
  )
  const order = (cell: Cell): number =>
    result.kinds.findIndex((kind) => kind.id === cell.kind) * result.columns.length + result.columns.findIndex((column) => column.id === cell.column)
  const details = table(
    ['client', 'scenario', 'result', 'ms', 'detail'],
    [...result.cells].sort((a, b) => order(a) - order(b)).map((cell) => [labelOf.get(cell.kind) ?? cell.kind, titleOf.get(cell.column) ?? cell.column, cell.ok ? 'pass' : 'FAIL', String(cell.ms), cell.detail]),
  )
  const lines = [
    '# Keypin interop matrix',
    '',
    `Every client kind against one listener (QUIC and WebRTC on one UDP port, ${result.address.replace(/:[^:]+$/, ':<certhash>')}).`,
    `${passed}/${total} cells passed in ${(result.ms / 1000).toFixed(1)} s; run ${result.startedAt.toISOString()} on ${process.platform} ${process.arch}, Node ${process.version}.`,
    '',
    grid,
    '',
    '## Clients',
    '',
    ...result.kinds.map((kind) => `- ${kind.label}: ${kind.note || '-'}`),
    '',
    '## Cells',
    '',
    details,
  ]
  if (failed.length > 0) {
    lines.push('', '## Failures', '', ...failed.map((cell) => `- ${labelOf.get(cell.kind) ?? cell.kind} / ${titleOf.get(cell.column) ?? cell.column}: ${cell.detail}`))
  }
  return lines.join('\n') + '\n'
}

export async function writeReport(result: MatrixResult, file: string = DEFAULT_REPORT): Promise<string> {
  const text = renderMarkdown(result)
  await mkdir(dirname(file), { recursive: true })
  await writeFile(file, text)
  return text
}

function table(head: string[], rows: string[][]): string {
  const all = [head, ...rows].map((row) => row.map(escape))
  const widths = head.map((_, i) => Math.max(3, ...all.map((row) => (row[i] ?? '').length)))
  const line = (row: string[]): string => `| ${widths.map((width, i) => (row[i] ?? '').padEnd(width)).join(' | ')} |`
  const [first = [], ...rest] = all
  return [line(first), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rest.map(line)].join('\n')
}

function escape(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|')
}

function shorten(text: string, length: number): string {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`
}
