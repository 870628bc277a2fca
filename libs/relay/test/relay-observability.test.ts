/**
 * Observability: /metrics counters and gauges move with real traffic,
 * /health answers, the handler leaves other paths to its caller, and the
 * logger receives structured entries.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRelayHttpHandler, startRelayHttp } from '@keypin/relay/server'
import { generateIdentity, RelayError } from '@keypin/relay'
import { connectClient, RawControl, startTestRelay, waitUntil } from './support.js'

function sample(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `))
  assert.ok(line, `metric ${name} missing`)
  return Number(line.slice(name.length + 1))
}

test('/metrics counters move with traffic and /health returns 200', { timeout: 30_000 }, async (t) => {
  const { address, relay, logs } = await startTestRelay(t)
  const http = await startRelayHttp(relay, { host: '127.0.0.1', port: 0 })
  t.after(() => http.close())
  assert.match(http.url, /^http:\/\/127\.0\.0\.1:\d+$/)

  const health = await fetch(`${http.url}/health`)
  assert.equal(health.status, 200)
  const body = (await health.json()) as Record<string, unknown>
  assert.equal(body['status'], 'ok')
  assert.equal(body['connections'], 0)

  const before = await (await fetch(`${http.url}/metrics`)).text()
  assert.equal(sample(before, 'keypin_relay_messages_routed_total'), 0)
  assert.equal(sample(before, 'keypin_relay_connections{transport="quic"}'), 0)

  const alice = await connectClient(t, address)
  const bob = await connectClient(t, address)
  for (let i = 0; i < 3; i++) await alice.client.sendDirect(bob.client.userId, `m${i}`)
  await bob.recorder.wait('direct', 3)
  await waitUntil(() => relay.stats.messagesDelivered === 3, 5_000, 'three deliveries')
  // A failed login, for the failure counter.
  const raw = await RawControl.open(t, address)
  await raw.hello()
  await raw.request(raw.loginFrame(generateIdentity(), { nonce: new Uint8Array(32) }))
  await raw.untilEnd()

  const response = await fetch(`${http.url}/metrics`)
  assert.equal(response.status, 200)
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain/)
  const after = await response.text()
  assert.equal(sample(after, 'keypin_relay_messages_routed_total'), 3)
  assert.equal(sample(after, 'keypin_relay_messages_delivered_total'), 3)
  assert.equal(sample(after, 'keypin_relay_messages_queued'), 0)
  assert.ok(sample(after, 'keypin_relay_connections{transport="quic"}') >= 2)
  assert.equal(sample(after, 'keypin_relay_connections{transport="webrtc"}'), 0)
  assert.equal(sample(after, 'keypin_relay_users_online'), 2)
  assert.equal(sample(after, 'keypin_relay_login_failures_total{reason="bad-signature"}'), 1)
  assert.equal(sample(after, 'keypin_relay_logins_total'), 2)
  assert.match(after, /keypin_relay_store_commit_seconds_bucket/)

  assert.equal((await fetch(`${http.url}/nope`)).status, 404)
  assert.equal((await fetch(`${http.url}/metrics`, { method: 'POST' })).status, 405)

  // Logs are structured, and name users and messages by id.
  const login = logs.find((entry) => entry.msg === 'login' && entry['user'] === alice.client.userId)
  assert.ok(login, 'a login entry for alice')
  assert.equal(login.level, 'info')

  await relay.close()
  assert.equal((await fetch(`${http.url}/health`)).status, 503)
})

test('the handler serves its two paths and leaves the rest to the caller', { timeout: 20_000 }, async (t) => {
  const { relay } = await startTestRelay(t)
  const handle = createRelayHttpHandler(relay)
  const server = createServer((req, res) => {
    if (handle(req, res)) return
    res.writeHead(200)
    res.end('app')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  assert.equal(await (await fetch(`${base}/`)).text(), 'app')
  assert.equal((await fetch(`${base}/health?verbose=1`)).status, 200)
  assert.match(await (await fetch(`${base}/metrics`)).text(), /keypin_relay_users_online 0/)
})

test('bad options are typed errors that name the problem', async (t) => {
  const { relay, listener } = await startTestRelay(t)
  const { startRelay } = await import('@keypin/relay/server')
  const attempts: [unknown, RegExp][] = [
    [{ listener, databasePath: '' }, /databasePath/],
    [{ listener: {}, databasePath: ':memory:' }, /listener/],
    [{ listener, databasePath: ':memory:', limits: { maxQueuePerUser: 0 } }, /maxQueuePerUser/],
    [{ listener, databasePath: ':memory:', limits: { userMessages: { perSecond: 1 } } }, /userMessages\.burst/],
    [{ listener, databasePath: ':memory:', limits: { nonsense: 1 } }, /nonsense/],
    [{ listener, databasePath: ':memory:', logger: 'loud' }, /logger/],
    [{ listener, databasePath: '/nonexistent-dir/relay.db' }, /database/],
  ]
  for (const [options, pattern] of attempts) {
    assert.throws(
      () => startRelay(options as Parameters<typeof startRelay>[0]),
      (error: unknown) => error instanceof RelayError && error.code === 'invalid-argument' && pattern.test(error.message),
    )
  }
  await assert.rejects(startRelayHttp(relay, { host: '127.0.0.1', port: 70_000 }), /port/)
})
