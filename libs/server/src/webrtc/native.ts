/**
 * Loading node-datachannel, and releasing its process-wide native state.
 *
 * The module is imported lazily, on the first authenticated WebRTC handshake:
 * a QUIC-only listener never loads the native library, and a platform without
 * a prebuilt binary still serves QUIC.
 *
 * node-datachannel's worker threads keep Node alive until `cleanup()` runs
 * (or until every closed PeerConnection happens to be garbage collected).
 * `cleanup()` is process-wide: it closes every PeerConnection of every user
 * of the library. So users are counted, and only the last one to release
 * calls it. The count lives on `globalThis` under a registered symbol so that
 * other Keypin packages in the same process (and other copies of this one)
 * can take part without depending on each other: increment it while you hold
 * native peers, and call `cleanup()` only when your decrement reaches zero.
 *
 * This file does not create peers or sockets.
 */
export type NodeDataChannel = (typeof import('node-datachannel'))['default']

let loading: Promise<NodeDataChannel> | undefined

/** The node-datachannel module; rejects when it cannot be loaded on this platform. */
export function loadNodeDataChannel(): Promise<NodeDataChannel> {
  loading ??= import('node-datachannel').then((module) => module.default)
  return loading
}

const USERS = Symbol.for('keypin.node-datachannel.users')

interface Users {
  count: number
}

function users(): Users {
  const global = globalThis as unknown as Record<symbol, Users | undefined>
  return (global[USERS] ??= { count: 0 })
}

/** Registers one user of native peers; pair with exactly one `releaseNative`. */
export function acquireNative(): void {
  users().count++
}

/**
 * Unregisters a user. The last one runs `cleanup()`, which must only happen
 * once every peer this process created has reported `closed`: cleanup blocks
 * the JavaScript thread while it waits for native threads, and a native
 * thread still delivering a callback to JavaScript then deadlocks it (it
 * gives up after 10 s with "cleanup timeout").
 */
export function releaseNative(native: NodeDataChannel): void {
  const registry = users()
  registry.count = Math.max(0, registry.count - 1)
  if (registry.count > 0) return
  try {
    native.cleanup()
  } catch {
    // A timed-out cleanup leaves the threads running; the process then exits
    // when the closed peers are garbage collected. Nothing better to do here.
  }
}
