/**
 * Who holds UDP sockets on a port, from the kernel's own tables (Linux):
 * /proc/net/udp and /proc/net/udp6 list every socket with its local address
 * (port in hex) and inode; /proc/<pid>/fd links name the sockets a process
 * holds as "socket:[<inode>]".
 */
import { readFile, readdir, readlink } from 'node:fs/promises'

export interface PortSockets {
  /** UDP sockets on this machine (this network namespace) bound to the port. */
  total: number
  /** How many of them the process holds. */
  held: number
}

export async function udpSocketsOnPort(port: number, pid: number = process.pid): Promise<PortSockets> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`
  const inodes = new Set<string>()
  let tables = 0
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    let text: string
    try {
      text = await readFile(table, 'utf8')
      tables++
    } catch {
      continue
    }
    for (const line of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
      const fields = line.trim().split(/\s+/)
      if (fields[1]?.endsWith(hex) && fields[9] !== undefined) inodes.add(fields[9])
    }
  }
  if (tables === 0) throw new Error('cannot read /proc/net/udp or /proc/net/udp6 (not Linux?)')
  let held = 0
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1]
    if (inode !== undefined && inodes.has(inode)) held++
  }
  return { total: inodes.size, held }
}
