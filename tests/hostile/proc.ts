/**
 * What a process holds, read from outside through Linux's /proc: resident
 * memory and open file descriptors. Works for any process this user may
 * inspect (root: any), including one in another network namespace.
 *
 * Not a test file.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs'

export const MiB = 1024 * 1024

/** Resident set size in bytes (VmRSS). */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`)
  return Number(match[1]) * 1024
}

/** Number of open file descriptors. */
export function fdCountOf(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length
}

/**
 * Open descriptors grouped by kind ("socket", "anon_inode:[eventfd]",
 * "pipe", "/dev/null", ...), for messages that explain a difference.
 */
export function fdKindsOf(pid: number): Record<string, number> {
  const kinds: Record<string, number> = {}
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`)
    } catch {
      continue // closed while we looked
    }
    const kind = target.replace(/:\[\d+\]$/, '').replace(/^\/tmp\/.*/, '/tmp/...')
    kinds[kind] = (kinds[kind] ?? 0) + 1
  }
  return kinds
}

/** Threads of the process (node-datachannel and libuv keep worker threads). */
export function threadCountOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const match = /^Threads:\s+(\d+)$/m.exec(status)
  return match ? Number(match[1]) : -1
}

export interface ProcessSample {
  rss: number
  fds: number
  threads: number
}

export function sampleOf(pid: number): ProcessSample {
  return { rss: rssOf(pid), fds: fdCountOf(pid), threads: threadCountOf(pid) }
}

export function formatMiB(bytes: number): string {
  return `${(bytes / MiB).toFixed(1)} MiB`
}

/** The difference of two fd-kind tallies, only the kinds that changed. */
export function fdKindsDiff(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const diff: Record<string, number> = {}
  for (const kind of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const delta = (after[kind] ?? 0) - (before[kind] ?? 0)
    if (delta !== 0) diff[kind] = delta
  }
  return diff
}

export interface UdpSocketState {
  /** Bytes waiting in the socket's receive queue. */
  rxQueue: number
  /** Datagrams the kernel dropped because that queue was full. */
  drops: number
}

/**
 * The kernel's view of the UDP socket bound to 127.0.0.1:`port` in this
 * network namespace (/proc/net/udp), or undefined when there is none.
 */
export function udpSocketState(port: number): UdpSocketState | undefined {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`
  for (const line of readFileSync('/proc/net/udp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/)
    // sl local_address rem_address st tx_queue:rx_queue tr tm->when retrnsmt uid timeout inode ref pointer drops
    if (fields.length < 13 || fields[1] !== local) continue
    const rxQueue = parseInt(fields[4]?.split(':')[1] ?? '0', 16)
    return { rxQueue, drops: Number(fields[fields.length - 1]) }
  }
  return undefined
}
