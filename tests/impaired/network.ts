/**
 * An impaired IP path between two network namespaces that a test creates:
 * the server side holds 10.77.0.1, the client side 10.77.0.2, and every
 * packet between them is delayed, sometimes dropped and sometimes
 * reordered. Real IP packets through the kernel, so QUIC and WebRTC run
 * unmodified on both ends.
 *
 * Two ways to impair the link, chosen by probing:
 * - `tc netem` on a veth pair, where the kernel has it;
 * - otherwise (kernels built without CONFIG_NET_SCH_NETEM) two TUN devices
 *   joined by lossy-link.py, which forwards packets between them with the
 *   same delay, loss and reordering.
 * `KEYPIN_IMPAIR=tun` forces the second on any kernel.
 *
 * Needs root, iproute2 and (for TUN) python3. Namespaces are named after the
 * creating process (`kpimp-<pid>-srv`, `kpimp-<pid>-cli`), so concurrent runs
 * do not collide and leftovers of a crashed run (whose process is gone) can
 * be recognised and removed.
 *
 * Not a test file.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { accessSync, constants, existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)

export const SERVER_IP = '10.77.0.1'
export const CLIENT_IP = '10.77.0.2'
const PREFIX_LENGTH = 30
const NAMESPACE_PREFIX = 'kpimp-'
const LINK_SCRIPT = new URL('../../impaired/lossy-link.py', import.meta.url)

export interface LinkProfile {
  /** One-way delay (ms); the round trip is twice this. */
  delayMs: number
  /** Probability that a packet is dropped, each direction. */
  loss: number
  /** Probability that a packet is held back `reorderMs` longer, so later ones overtake it. */
  reorder: number
  reorderMs: number
  /** Seeds the link's random choices (TUN link only; netem has its own). */
  seed: number
}

export interface ImpairedNetwork {
  readonly serverNamespace: string
  readonly clientNamespace: string
  readonly method: 'netem' | 'tun'
  /** Drops every packet from now on, including those in flight. */
  cut(): Promise<void>
  /** Forwards packets again. */
  restore(): Promise<void>
  /** Link counters (TUN link only: packets received, forwarded, lost, reordered, cut). */
  counters(): Promise<Record<string, number>>
  /** Removes the namespaces and the link; safe to call more than once. */
  destroy(): Promise<void>
}

/** A program or device the impaired network needs is missing (as opposed to a failure while building it). */
export class MissingPrerequisite extends Error {}

/** Why this machine cannot build the impaired network, or null when it can (as far as can be told before trying). */
export function missingPrerequisite(): string | null {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`
  if (process.getuid?.() !== 0) return 'network namespaces need root'
  if (!onPath('ip')) return 'iproute2 (the ip command) is not installed'
  if (!existsSync('/dev/net/tun') && !onPath('tc')) return 'neither /dev/net/tun nor tc is available'
  return null
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => {
    try {
      accessSync(`${dir}/${command}`, constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

async function sh(command: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(command, args, { timeout: 15_000 })
    return stdout
  } catch (error) {
    const e = error as { stderr?: string; message: string }
    throw new Error(`${command} ${args.join(' ')} failed: ${(e.stderr ?? '').trim() || e.message}`)
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Deletes namespaces left by earlier runs whose process no longer exists. */
export async function removeLeftovers(): Promise<string[]> {
  const removed: string[] = []
  for (const line of (await sh('ip', ['netns', 'list'])).split('\n')) {
    const name = line.split(' ')[0] ?? ''
    const match = new RegExp(`^${NAMESPACE_PREFIX}(\\d+)-`).exec(name)
    if (!match || alive(Number(match[1]))) continue
    await sh('ip', ['netns', 'delete', name]).catch(() => {})
    removed.push(name)
  }
  return removed
}

/** Creates both namespaces and the impaired link between them. */
export async function createImpairedNetwork(profile: LinkProfile): Promise<ImpairedNetwork> {
  const serverNamespace = `${NAMESPACE_PREFIX}${process.pid}-srv`
  const clientNamespace = `${NAMESPACE_PREFIX}${process.pid}-cli`
  const cleanups: Array<() => Promise<unknown>> = []
  let destroyed: Promise<void> | undefined
  const destroy = (): Promise<void> =>
    (destroyed ??= (async () => {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {})
    })())
  try {
    for (const namespace of [serverNamespace, clientNamespace]) {
      // A namespace of ours from an earlier call in this same process.
      await sh('ip', ['netns', 'delete', namespace]).catch(() => {})
      await sh('ip', ['netns', 'add', namespace])
      cleanups.push(() => sh('ip', ['netns', 'delete', namespace]))
      // WebRTC's server side relays every peer over loopback sockets.
      await sh('ip', ['-n', namespace, 'link', 'set', 'lo', 'up'])
    }
    const netem = process.env.KEYPIN_IMPAIR !== 'tun' && onPath('tc') && (await netemLink(serverNamespace, clientNamespace, profile, cleanups))
    if (!netem && !existsSync('/dev/net/tun')) throw new MissingPrerequisite('the kernel has neither netem nor TUN devices (/dev/net/tun)')
    if (!netem && !onPath('python3')) throw new MissingPrerequisite('the kernel has no netem, and python3 (for the TUN link) is not installed')
    const link = netem || (await tunLink(serverNamespace, clientNamespace, profile, cleanups))
    return { serverNamespace, clientNamespace, ...link, destroy }
  } catch (error) {
    await destroy()
    throw error
  }
}

type Link = Pick<ImpairedNetwork, 'method' | 'cut' | 'restore' | 'counters'>

async function configure(namespace: string, device: string, address: string): Promise<void> {
  await sh('ip', ['-n', namespace, 'addr', 'add', `${address}/${PREFIX_LENGTH}`, 'dev', device])
  await sh('ip', ['-n', namespace, 'link', 'set', device, 'up'])
}

/**
 * A veth pair with netem on both ends (each end impairs what it sends), or
 * false when this kernel has no netem; the probe leaves nothing behind.
 */
async function netemLink(
  serverNamespace: string,
  clientNamespace: string,
  profile: LinkProfile,
  cleanups: Array<() => Promise<unknown>>,
): Promise<Link | false> {
  const serverDevice = `kpv${process.pid}s`
  const clientDevice = `kpv${process.pid}c`
  await sh('ip', ['link', 'add', serverDevice, 'type', 'veth', 'peer', 'name', clientDevice])
  const ends: Array<[string, string]> = [
    [serverNamespace, serverDevice],
    [clientNamespace, clientDevice],
  ]
  try {
    await sh('ip', ['link', 'set', serverDevice, 'netns', serverNamespace])
    await sh('ip', ['link', 'set', clientDevice, 'netns', clientNamespace])
  } catch (error) {
    await sh('ip', ['link', 'delete', serverDevice]).catch(() => {})
    throw error
  }
  // Deleting one end of a veth pair deletes both; the namespaces' removal would too.
  cleanups.push(() => sh('ip', ['-n', serverNamespace, 'link', 'delete', serverDevice]))
  const impair = (loss: number): string[] => [
    'netem',
    'limit',
    '100000',
    'delay',
    `${profile.delayMs}ms`,
    'loss',
    `${loss * 100}%`,
    // netem reorders by sending this share of packets without the delay.
    ...(profile.reorder > 0 ? ['reorder', `${profile.reorder * 100}%`] : []),
  ]
  try {
    await sh('tc', ['-n', serverNamespace, 'qdisc', 'add', 'dev', serverDevice, 'root', ...impair(profile.loss)])
  } catch (error) {
    if (!/unknown/i.test((error as Error).message)) throw error
    await sh('ip', ['-n', serverNamespace, 'link', 'delete', serverDevice])
    cleanups.pop()
    return false
  }
  await sh('tc', ['-n', clientNamespace, 'qdisc', 'add', 'dev', clientDevice, 'root', ...impair(profile.loss)])
  await configure(serverNamespace, serverDevice, SERVER_IP)
  await configure(clientNamespace, clientDevice, CLIENT_IP)
  const setLoss = async (loss: number): Promise<void> => {
    for (const [namespace, device] of ends) await sh('tc', ['-n', namespace, 'qdisc', 'change', 'dev', device, 'root', ...impair(loss)])
  }
  return {
    method: 'netem',
    cut: () => setLoss(1),
    restore: () => setLoss(profile.loss),
    counters: async () => ({}),
  }
}

/** Two TUN devices, one per namespace, joined by lossy-link.py. */
async function tunLink(
  serverNamespace: string,
  clientNamespace: string,
  profile: LinkProfile,
  cleanups: Array<() => Promise<unknown>>,
): Promise<Link> {
  const serverDevice = `kpt${process.pid}s`
  const clientDevice = `kpt${process.pid}c`
  const config = {
    devices: [serverDevice, clientDevice],
    delay_ms: profile.delayMs,
    loss: profile.loss,
    reorder: profile.reorder,
    reorder_ms: profile.reorderMs,
    seed: profile.seed,
  }
  const child: ChildProcessWithoutNullStreams = spawn('python3', [fileURLToPath(LINK_SCRIPT), JSON.stringify(config)], { stdio: 'pipe' })
  let output = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (chunk: string) => {
    output = (output + chunk).slice(-4096)
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  // Closing its stdin ends the link; the devices go with the process.
  cleanups.push(async () => {
    child.stdin.end()
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000)
    await exited
    clearTimeout(timer)
  })
  const replies: Array<(reply: Record<string, unknown>) => void> = []
  const lines = createInterface({ input: child.stdout })
  let ready: (value: void) => void = () => {}
  let failed: (error: Error) => void = () => {}
  const started = new Promise<void>((resolve, reject) => {
    ready = resolve
    failed = reject
  })
  lines.on('line', (line) => {
    const reply = JSON.parse(line) as Record<string, unknown>
    if (reply.event === 'ready') ready()
    else replies.shift()?.(reply)
  })
  child.once('error', (error) => failed(new Error(`cannot run lossy-link.py: ${error.message}`)))
  void exited.then(() => failed(new Error(`lossy-link.py exited: ${output.trim() || 'no output'}`)))
  const timer = setTimeout(() => failed(new Error('lossy-link.py did not start within 10 s')), 10_000)
  try {
    await started
  } finally {
    clearTimeout(timer)
  }
  await sh('ip', ['link', 'set', serverDevice, 'netns', serverNamespace])
  await sh('ip', ['link', 'set', clientDevice, 'netns', clientNamespace])
  await configure(serverNamespace, serverDevice, SERVER_IP)
  await configure(clientNamespace, clientDevice, CLIENT_IP)

  const command = (line: string): Promise<Record<string, number>> =>
    new Promise((resolve, reject) => {
      const timeout = setTimeout(() => reject(new Error(`lossy-link.py did not answer ${line}`)), 5000)
      replies.push((reply) => {
        clearTimeout(timeout)
        if (reply.event === 'error') reject(new Error(String(reply.message)))
        else resolve(reply as Record<string, number>)
      })
      child.stdin.write(`${line}\n`)
    })
  return {
    method: 'tun',
    cut: async () => void (await command('cut')),
    restore: async () => void (await command('restore')),
    counters: () => command('stats'),
  }
}
