/**
 * Facts about the machine the bench runs on: its description for the report,
 * and the kernel's system-wide UDP receive-buffer drop counter.
 */
import { readFile } from 'node:fs/promises'
import os from 'node:os'

export interface MachineFacts {
  cpuModel: string
  cores: number
  memoryBytes: number
  /** e.g. `v20.19.0` */
  nodeVersion: string
  /** OS type, release and architecture, e.g. `Linux 6.8.0 x64`. */
  system: string
}

export function machineFacts(): MachineFacts {
  const cpus = os.cpus()
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryBytes: os.totalmem(),
    nodeVersion: process.version,
    system: `${os.type()} ${os.release()} ${os.arch()}`,
  }
}

/** The report's "Machine" section (both benches print the same one). */
export function machineSection(machine: MachineFacts): string[] {
  return [
    '## Machine',
    '',
    `- CPU: ${machine.cpuModel}, ${machine.cores} cores`,
    `- Memory: ${(machine.memoryBytes / 2 ** 30).toFixed(1)} GiB total`,
    `- Node ${machine.nodeVersion}, ${machine.system}`,
    '',
  ]
}

/** Linux: system-wide UDP receive-buffer overflows (`RcvbufErrors` in /proc/net/snmp); undefined elsewhere. */
export async function udpRcvbufErrors(): Promise<number | undefined> {
  try {
    const rows = (await readFile('/proc/net/snmp', 'utf8')).split('\n').filter((line) => line.startsWith('Udp:'))
    const names = rows[0]?.split(/\s+/) ?? []
    const values = rows[1]?.split(/\s+/) ?? []
    const index = names.indexOf('RcvbufErrors')
    const count = index > 0 ? Number(values[index]) : NaN
    return Number.isFinite(count) ? count : undefined
  } catch {
    return undefined
  }
}
