/**
 * Prekey rotation while connected: the client checks hourly, rotates a
 * prekey older than a week and publishes it. A publish the relay refused
 * (here: the user's request bucket was empty) is retried at the next check,
 * not left until the next login.
 *
 * The client's time is mocked (setInterval and Date) so that an hourly check
 * passes in milliseconds; the relay keeps its own injected clock, and
 * sockets, QUIC and the relay are real.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MemoryStateStore, generateIdentity, userIdOf } from '@keypin/relay'
import { RawControl, connectClient, delay, startTestRelay } from './support.js'

const HOUR = 60 * 60 * 1000
const DAY = 24 * HOUR

/** Polls `check` on real timers (Date is mocked, so no deadline from it), for about 5 s. */
async function eventually(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let attempt = 0; attempt < 250; attempt++) {
    if (await check()) return
    await delay(20)
  }
  assert.fail(`gave up waiting for ${what}`)
}

test('a rotated prekey the relay refused is published at the next hourly check', { timeout: 30_000 }, async (t) => {
  // One request per user, refilled only when the test moves the relay's clock.
  let relayNow = Date.now()
  const { address, relay } = await startTestRelay(t, { now: () => relayNow, limits: { userRequests: { perSecond: 1, burst: 1 } } })
  // Alice makes her prekey, leaves, and comes back half an hour short of a
  // week later: the prekey is still current and is what she logs in with.
  t.mock.timers.enable({ apis: ['setInterval', 'Date'], now: Date.now() })
  const identity = generateIdentity()
  const store = new MemoryStateStore()
  const earlier = await connectClient(t, address, identity, { store })
  await earlier.client.close()
  t.mock.timers.setTime(Date.now() + 7 * DAY - HOUR / 2)
  const alice = await connectClient(t, address, identity, { store })

  const reader = await RawControl.open(t, address)
  const readerIdentity = generateIdentity()
  assert.equal((await reader.login(readerIdentity))['t'], 'ok')
  const directoryPrekey = async (): Promise<number> => {
    relayNow += 2_000 // the reader's token for this request
    const requestId = await reader.request({ t: 'keys', user: alice.client.userId })
    const reply = await reader.nextOf('ok')
    assert.equal(reply['requestId'], requestId)
    return (reply['prekey'] as { id: number }).id
  }
  const first = await directoryPrekey()
  const refusals = async (): Promise<number> => {
    const metric = await relay.metrics.getSingleMetric('keypin_relay_rate_limited_total')?.get()
    return metric?.values.find((sample) => sample.labels['scope'] === 'user-requests')?.value ?? 0
  }

  // Alice spends her one request; the relay's clock stands still.
  await alice.client.contactSafetyCode(userIdOf(readerIdentity.publicKey))
  const limited = await refusals()
  // An hour later the check rotates the prekey; its publish is refused.
  t.mock.timers.tick(HOUR)
  await eventually(async () => (await refusals()) > limited, "the relay to refuse alice's prekey publish")
  assert.equal(await directoryPrekey(), first)

  // With tokens again, the next check publishes the prekey alice now holds.
  relayNow += 2_000
  t.mock.timers.tick(HOUR)
  let current = first
  await eventually(async () => (current = await directoryPrekey()) !== first, 'the relay to hold the rotated prekey')
  assert.equal(current, first + 1)
  assert.equal(alice.recorder.events.close.length, 0, 'alice stayed connected')
})
