/**
 * Keypin over an impaired network: the listener runs in one network
 * namespace, the clients in another, and every IP packet between them is
 * delayed 25 ms each way (50 ms round trip), 2% are dropped in each
 * direction and 10% are held back so that later packets overtake them (see
 * network.ts). Over that path, for QUIC and for Node over WebRTC:
 *   - streams deliver every byte in order (2 MB through 4 streams, SHA-256);
 *   - datagrams arrive best-effort (some, never more than were sent);
 *   - dials complete within a bounded time;
 *   - cutting the link (mid-transfer, or while idle) ends the connection on
 *     both ends instead of leaving it hanging, with a `timeout` error after
 *     the configured idle timeout (QUIC's own; over WebRTC, Keypin's
 *     keep-alive and idle timer on the control channel).
 *
 * Needs root, iproute2 and /dev/net/tun (or netem). Elsewhere the tests skip
 * and say why, except under CI=true, where a missing prerequisite fails.
 */
import { after, before, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { startHelper, type Helper } from '../hostile/ipc.js'
import type { EndRecord, ListenerReady, ListenerStatus } from '../hostile/listener-child.js'
import { isQuiet } from '../hostile/listener-status.js'
import type { ClosedEvent, DatagramsReply, TransferReply, Transport } from './client-child.js'
import { MissingPrerequisite, SERVER_IP, createImpairedNetwork, missingPrerequisite, removeLeftovers, type ImpairedNetwork, type LinkProfile } from './network.js'

const PROFILE: LinkProfile = { delayMs: 25, loss: 0.02, reorder: 0.1, reorderMs: 20, seed: Number(process.env.KEYPIN_IMPAIR_SEED ?? 4242) }
/** The idle timeout both ends use here, short so that a cut is noticed quickly. */
const IDLE_TIMEOUT_MS = 3000
const KEEPALIVE_MS = 1000
/**
 * How late after the idle timeout a QUIC cut may be reported. QUIC restarts
 * the idle timer when it sends its first ack-eliciting packet after the last
 * one received (RFC 9000 10.1): on a quiet connection the next keep-alive,
 * up to one and a half intervals later (it is checked every half interval);
 * on a busy one whose congestion window is full, the next retransmission
 * probe. The rest is timer and load slack.
 */
const CUT_SLACK_MS = 1.5 * KEEPALIVE_MS + 1500
/** Quiet time before an "idle" cut, so no SCTP or QUIC data is still unacknowledged. */
const QUIET_MS = 2000
/**
 * How late after the idle timeout a WebRTC cut may be reported: the idle
 * timer counts from the last thing heard (a keep-alive at most one interval
 * before the cut) and is checked every idle/8 ms; the rest is load slack.
 */
const WEBRTC_CUT_SLACK_MS = 1500
/** No dial over this path may take longer (a lost DTLS flight costs a 1 s retransmission, two cost 3 s). */
const DIAL_BOUND_MS = 8000
const DIALS_PER_TRANSPORT = 8
const TRANSPORTS: Transport[] = ['quic', 'webrtc']

let missing = missingPrerequisite()
const inCi = process.env.CI === 'true' || process.env.CI === '1'

let network: ImpairedNetwork | undefined
let server: Helper<ListenerReady> | undefined
let client: Helper | undefined
let address = ''
let leftovers: string[] = []

before(async () => {
  if (missing !== null) return
  leftovers = await removeLeftovers()
  try {
    network = await createImpairedNetwork(PROFILE)
  } catch (error) {
    if (!(error instanceof MissingPrerequisite)) throw error
    missing = error.message
    return
  }
  server = await startHelper<ListenerReady>({
    script: new URL('../hostile/listener-child.js', import.meta.url),
    args: { host: SERVER_IP, port: 0, idleTimeout: IDLE_TIMEOUT_MS, keepAliveInterval: KEEPALIVE_MS },
    netns: network.serverNamespace,
    label: 'listener (server namespace)',
  })
  address = (await server.ready).address
  client = await startHelper({
    script: new URL('./client-child.js', import.meta.url),
    netns: network.clientNamespace,
    label: 'client (client namespace)',
  })
})

after(async () => {
  try {
    await Promise.all([client?.stop(), server?.stop()])
  } finally {
    await network?.destroy()
  }
})

/** Skips (outside CI) or fails (in CI) when the machine cannot build the network. */
function guard(t: TestContext): boolean {
  if (missing === null) return true
  if (inCi) assert.fail(`impaired-network tests cannot run: ${missing} (CI=true requires them)`)
  t.skip(missing)
  return false
}

function describeMs(values: number[]): string {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number
  return `min ${at(0).toFixed(0)} ms, median ${at(0.5).toFixed(0)} ms, max ${at(1).toFixed(0)} ms`
}

async function listenerStatus(): Promise<ListenerStatus> {
  return (await server!.request<ListenerStatus>('stats'))
}

async function waitForIdleListener(ms: number): Promise<ListenerStatus> {
  const deadline = Date.now() + ms
  for (;;) {
    const status = await listenerStatus()
    if (isQuiet(status)) return status
    if (Date.now() > deadline) assert.fail(`the listener still holds connections after ${ms} ms: ${JSON.stringify(status)}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

test('the impaired link is in place', async (t) => {
  if (!guard(t)) return
  t.diagnostic(`impairment: ${network!.method}; ${PROFILE.delayMs} ms each way, ${PROFILE.loss * 100}% loss, ${PROFILE.reorder * 100}% reordered (+${PROFILE.reorderMs} ms), seed ${PROFILE.seed}`)
  t.diagnostic(`listener ${address} in ${network!.serverNamespace}; clients in ${network!.clientNamespace}`)
  if (leftovers.length > 0) t.diagnostic(`removed namespaces left by an earlier run: ${leftovers.join(', ')}`)
  assert.ok(address.startsWith(`${SERVER_IP}:`), `the listener is bound to the server side (${address})`)
})

for (const transport of TRANSPORTS) {
  test(`${transport}: dials over the impaired path complete within ${DIAL_BOUND_MS} ms`, { timeout: 120_000 }, async (t) => {
    if (!guard(t)) return
    const times: number[] = []
    for (let i = 0; i < DIALS_PER_TRANSPORT; i++) {
      const reply = await client!.request<TransferReply>('transfer', { transport, address, streams: 1, bytes: 1000 }, 60_000)
      assert.deepEqual(reply.intact, [true], reply.detail.join('; '))
      times.push(reply.dialMs)
    }
    t.diagnostic(`${transport} dial times over ${DIALS_PER_TRANSPORT} dials: ${describeMs(times)}`)
    assert.ok(Math.max(...times) < DIAL_BOUND_MS, `every dial within ${DIAL_BOUND_MS} ms (${describeMs(times)})`)
  })

  test(`${transport}: 2 MB through 4 streams arrive intact and in order`, { timeout: 180_000 }, async (t) => {
    if (!guard(t)) return
    const reply = await client!.request<TransferReply>('transfer', { transport, address, streams: 4, bytes: 512 * 1024 }, 170_000)
    const counters = await network!.counters()
    t.diagnostic(
      `${transport}: dial ${reply.dialMs.toFixed(0)} ms; ${reply.bytes} bytes each way in ${reply.transferMs.toFixed(0)} ms ` +
        `(${((reply.bytes * 8) / reply.transferMs / 1000).toFixed(2)} Mbit/s echoed); link so far ${JSON.stringify(counters)}`,
    )
    assert.deepEqual(reply.intact, [true, true, true, true], reply.detail.join('; '))
    if (network!.method === 'tun') {
      // The link really impaired this transfer.
      assert.ok(counters.lost! > 0 && counters.reordered! > 0, `the link dropped and reordered packets: ${JSON.stringify(counters)}`)
    }
  })

  test(`${transport}: datagrams arrive best-effort`, { timeout: 60_000 }, async (t) => {
    if (!guard(t)) return
    const reply = await client!.request<DatagramsReply>(
      'datagrams',
      { transport, address, count: 300, size: 300, intervalMs: 5, waitMs: 1000 },
      50_000,
    )
    t.diagnostic(`${transport}: ${reply.received} of ${reply.sent} datagrams echoed (${(100 - (100 * reply.received) / reply.sent).toFixed(1)}% lost on the round trip)`)
    assert.equal(reply.unexpected, 0, 'every echo is a datagram that was sent, once')
    assert.ok(reply.received > 0, 'some datagrams arrive')
    assert.ok(reply.received <= reply.sent, 'never more than were sent')
  })

  for (const busy of [true, false]) {
    const what = busy ? 'mid-transfer' : 'on an idle connection'
    const expectation = `with a timeout after the ${IDLE_TIMEOUT_MS} ms idle timeout`
    test(`${transport}: a link cut ${what} ends the connection on both ends ${expectation}`, { timeout: 120_000 }, async (t) => {
      if (!guard(t)) return
      await cutAndWatch(t, transport, busy)
    })
  }
}

/**
 * Dials, gets bytes flowing (or one echo, then idle), cuts the link and
 * waits for both ends of the connection to end; restores the link after.
 */
async function cutAndWatch(t: TestContext, transport: Transport, busy: boolean): Promise<void> {
  await waitForIdleListener(10_000)
  const bound = IDLE_TIMEOUT_MS + (transport === 'quic' ? CUT_SLACK_MS : WEBRTC_CUT_SLACK_MS)
  const closed = client!.nextEvent<ClosedEvent>((event) => (event as ClosedEvent).type === 'closed', bound + 30_000, 'connection end')
  closed.catch(() => {})
  await client!.request('hold', { transport, address, idleTimeout: IDLE_TIMEOUT_MS, keepAliveInterval: KEEPALIVE_MS, busy }, 60_000)
  if (!busy) await new Promise((resolve) => setTimeout(resolve, QUIET_MS))
  await network!.cut()
  const cutAt = Date.now()
  try {
    const event = await closed
    const elapsed = event.at - cutAt
    t.diagnostic(`${transport}: the client's connection ended ${elapsed} ms after the cut: ${event.code} (${event.initiator}) "${event.message}"`)
    let serverEnd: EndRecord | undefined
    while (!serverEnd && Date.now() < cutAt + bound) {
      serverEnd = (await server!.request<EndRecord[]>('ended')).filter((end) => end.transport === transport && end.at >= cutAt).at(-1)
      if (!serverEnd) await new Promise((resolve) => setTimeout(resolve, 100))
    }
    if (serverEnd) t.diagnostic(`${transport}: the listener's connection ended ${serverEnd.at - cutAt} ms after the cut: ${serverEnd.code} (${serverEnd.initiator})`)
    assert.ok(elapsed <= bound, `the client's connection ends within ${bound} ms of the cut (${elapsed} ms)`)
    assert.ok(serverEnd, `the listener's connection ends within ${bound} ms of the cut`)
    // Each end's idle timer restarts with everything it receives; after the cut nothing arrives.
    assert.equal(event.code, 'timeout', `the client's connection ends with timeout (${event.message})`)
    assert.equal(serverEnd.code, 'timeout', "the listener's connection ends with timeout")
    if (transport === 'quic') {
      assert.ok(elapsed >= IDLE_TIMEOUT_MS - 300, `not before the idle timeout (${elapsed} ms)`)
      assert.ok(serverEnd.at - cutAt >= IDLE_TIMEOUT_MS - 300, `not before the idle timeout on the listener (${serverEnd.at - cutAt} ms)`)
    } else {
      // The WebRTC timer counts from the last keep-alive, up to one interval before the cut.
      assert.ok(elapsed >= IDLE_TIMEOUT_MS - KEEPALIVE_MS - 300, `not before the idle timeout (${elapsed} ms)`)
    }
  } finally {
    await network!.restore()
  }
  await waitForIdleListener(10_000)
}
