/**
 * The interop matrix: every client kind runs every scenario against ONE
 * Keypin listener (QUIC and WebRTC on one UDP port). Rows are client kinds,
 * columns are scenarios; each cell has its own time limit, so a hang shows
 * as one failed cell instead of a stuck run. The last column runs all kinds
 * at once and checks, while all of them are connected, that the listener's
 * process holds exactly one UDP socket on the port.
 *
 * Used by main.ts (`npm run test:interop`) and matrix.test.ts (`npm test`).
 */
import type { ScenarioName, ScenarioOptions, ScenarioResult } from '../scenarios.js'
import { startScenarioServer, type ScenarioServer } from '../scenario-server.js'
import { openClientKinds, type ClientKind } from './clients.js'
import { udpSocketsOnPort } from './udp-sockets.js'

export interface Column {
  id: string
  title: string
  scenario: ScenarioName
}

export const COLUMNS: readonly Column[] = [
  { id: 'echo', title: 'echo', scenario: 'echo' },
  { id: 'streams-20', title: '20 streams', scenario: 'streams-20' },
  { id: 'server-opened', title: 'server-opened', scenario: 'server-opened' },
  { id: 'close-write-eof', title: 'closeWrite EOF', scenario: 'close-write-eof' },
  { id: 'reset-code', title: 'resetWrite code', scenario: 'reset-code' },
  { id: 'cancel-code', title: 'cancelRead code', scenario: 'cancel-code' },
  { id: 'datagrams', title: 'datagrams', scenario: 'datagrams' },
  { id: 'datagram-too-large', title: 'datagram too-large', scenario: 'datagram-too-large' },
  { id: 'wrong-pin', title: 'wrong pin', scenario: 'wrong-pin' },
  { id: 'connections-5', title: '5 connections', scenario: 'connections-5' },
  { id: 'slow-reader', title: 'slow reader', scenario: 'slow-reader' },
  { id: 'close-code', title: 'close code', scenario: 'close-code' },
  { id: 'all-at-once', title: 'all kinds at once', scenario: 'concurrent-kinds' },
]

export interface Cell {
  kind: string
  column: string
  ok: boolean
  detail: string
  ms: number
}

export interface MatrixResult {
  address: string
  port: number
  kinds: Array<{ id: string; label: string; note: string }>
  columns: readonly Column[]
  cells: Cell[]
  startedAt: Date
  ms: number
}

export interface MatrixOptions {
  /** Time limit of one cell (ms). */
  cellTimeout?: number
  /**
   * Time budget of the whole run (ms): once it is spent, the remaining cells
   * fail at once, so even a run full of hangs ends with its list of cells.
   */
  budget?: number
  /** Time limit of the all-at-once column (ms). */
  togetherTimeout?: number
  /** Handshake timeout for the wrong-pin dials (ms). */
  wrongPinHandshakeTimeout?: number
  /** Progress, one line per cell. */
  log?: (line: string) => void
}

export function failures(result: MatrixResult): Cell[] {
  return result.cells.filter((cell) => !cell.ok)
}

export async function runMatrix(options: MatrixOptions = {}): Promise<MatrixResult> {
  const { cellTimeout = 20_000, togetherTimeout = 45_000, budget = 110_000, wrongPinHandshakeTimeout = 2000, log = () => {} } = options
  const startedAt = new Date()
  const started = performance.now()
  const limit = (wanted: number): number => Math.min(wanted, Math.max(0, Math.round(budget - (performance.now() - started))))
  const server = await startScenarioServer()
  const kinds = await openClientKinds().catch(async (error: unknown) => {
    await server.close()
    throw error
  })
  const cells: Cell[] = []
  const address = server.listener.address
  const port = server.listener.localAddress.port
  try {
    const record = (cell: Cell): void => {
      cells.push(cell)
      log(`${cell.ok ? 'pass' : 'FAIL'}  ${cell.kind} / ${cell.column} (${cell.ms} ms): ${cell.detail}`)
    }
    for (const kind of kinds) {
      for (const column of COLUMNS) {
        if (column.scenario === 'concurrent-kinds') continue
        const scenarioOptions: ScenarioOptions = { wrongPinCode: kind.wrongPinCode, handshakeTimeout: wrongPinHandshakeTimeout }
        const rejectedBefore = server.listener.stats.webrtcRejected
        const cell = await runCell(kind, column, () => kind.run(column.scenario, address, scenarioOptions), limit(cellTimeout))
        // Over WebRTC a wrong certhash must meet silence: the listener drops the
        // dialer's STUN requests before creating any state for them.
        if (column.scenario === 'wrong-pin' && kind.transport === 'webrtc' && cell.ok) {
          const refused = server.listener.stats.webrtcRejected - rejectedBefore
          cell.ok = refused > 0
          cell.detail += refused > 0 ? `; the listener dropped ${refused} STUN request(s) unanswered` : ', but the listener dropped no STUN request'
        }
        record(cell)
      }
    }
    const together = COLUMNS.find((column) => column.scenario === 'concurrent-kinds')
    if (together) for (const cell of await runTogether(server, kinds, together, limit(togetherTimeout))) record(cell)
  } finally {
    await Promise.all(kinds.map((kind) => kind.close().catch(() => {})))
    await server.close()
  }
  return {
    address,
    port,
    kinds: kinds.map(({ id, label, note }) => ({ id, label, note })),
    columns: COLUMNS,
    cells,
    startedAt,
    ms: Math.round(performance.now() - started),
  }
}

/** Runs one cell under its own time limit; a kind that could not be set up fails every cell. */
async function runCell(kind: ClientKind, column: Column, run: () => Promise<ScenarioResult>, limit: number): Promise<Cell> {
  const started = performance.now()
  const cell = (ok: boolean, detail: string): Cell => ({ kind: kind.id, column: column.id, ok, detail, ms: Math.round(performance.now() - started) })
  if (kind.setupError !== undefined) return cell(false, kind.setupError)
  if (limit === 0) return cell(false, 'not run: the time budget of the whole matrix was used up')
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), limit)))
  try {
    const result = await Promise.race([run(), late])
    if (result === 'late') {
      await kind.recover()
      return cell(false, `no result within ${limit / 1000} s (cell time limit)`)
    }
    return cell(result.ok, result.detail)
  } catch (error) {
    return cell(false, `threw ${(error as Error).message ?? String(error)}`)
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Every kind runs the concurrent-kinds scenario at the same moment. The
 * scenario server releases them only when all are connected and calls back
 * first, which is when the UDP sockets are counted.
 */
async function runTogether(server: ScenarioServer, kinds: ClientKind[], column: Column, limit: number): Promise<Cell[]> {
  const group = `all-${Date.now().toString(36)}`
  const port = server.listener.localAddress.port
  let sockets = 'the kinds never all met, so the sockets were not counted'
  let socketsOk = false
  server.onMeeting = async (meeting) => {
    if (meeting !== `${group}/start`) return
    try {
      const { total, held } = await udpSocketsOnPort(port)
      socketsOk = total === 1 && held === 1
      sockets = `${total} UDP socket${total === 1 ? '' : 's'} on port ${port}, ${held} held by the listener's process`
    } catch (error) {
      sockets = `could not count UDP sockets: ${(error as Error).message}`
    }
  }
  const addressPort = Number(server.listener.address.split(':')[1])
  // A kind that could not be set up fails its own cell; the others still meet.
  const ready = kinds.filter((kind) => kind.setupError === undefined)
  const expected = ready.map((kind) => kind.transport).sort().join(' ')
  try {
    const options: ScenarioOptions = { group, parties: ready.length }
    const cells = await Promise.all(kinds.map((kind) => runCell(kind, column, () => kind.run('concurrent-kinds', server.listener.address, options), limit)))
    if (limit === 0) return cells
    const met = server.meetings.get(`${group}/start`)?.join(' ')
    return cells.map((cell) => {
      const problems = [
        cell.ok ? '' : cell.detail,
        met === expected ? '' : `the server saw ${met ?? 'no complete meeting'}, expected ${expected}`,
        socketsOk ? '' : sockets,
        addressPort === port ? '' : `the address names port ${addressPort}, the socket is on ${port}`,
      ].filter(Boolean)
      return { ...cell, ok: problems.length === 0, detail: problems.length ? problems.join('; ') : `${cell.detail}; ${sockets}` }
    })
  } finally {
    delete server.onMeeting
  }
}
