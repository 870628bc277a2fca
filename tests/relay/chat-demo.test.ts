/**
 * The chat demo end to end: its server as `npm start` runs it (a child
 * process, ports chosen by the OS), two Chromium users on the real page,
 * and one Node user over QUIC, all on the one relay. The pages are driven
 * through their controls; what one user sends must show in the other's DOM
 * or events, and the sender's message must reach "delivered".
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KeypinError, parseAddress } from '@keypin/core'
import { generateIdentity as generateServerIdentity } from '@keypin/server'
import { runChatRefusing, startChatProcess, type ChatProcess } from './chat-process.js'
import { ChatPage, UI_TIMEOUT } from './chat-page.js'
import { NodeUser } from './node-client.js'

let dataDir: string
let server: ChatProcess
let ana: ChatPage
let ben: ChatPage
let carl: NodeUser
let anaId: string
let benId: string

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'keypin-chat-'))
  server = await startChatProcess({ dataDir })
  // Two browsers with separate profiles: two identities.
  ;[ana, ben] = await Promise.all([ChatPage.open(server.ready.pageUrl), ChatPage.open(server.ready.pageUrl)])
  await Promise.all([ana.waitForStatus('connected'), ben.waitForStatus('connected')])
  ;[anaId, benId] = await Promise.all([ana.myId(), ben.myId()])
  carl = await NodeUser.connect(server.ready.relayAddress)
})

after(async () => {
  await carl?.close()
  await Promise.all([ana?.close(), ben?.close()])
  await server?.stop()
  if (dataDir) await rm(dataDir, { recursive: true, force: true })
})

test('the server reports its real ports and serves the page, /health and /metrics on one HTTP port', async () => {
  const { ready } = server
  assert.ok(ready.relayPort > 0 && ready.httpPort > 0, 'port 0 was replaced by the bound port')
  assert.equal(ready.relayAddress, `127.0.0.1:${ready.relayPort}:${parseAddress(ready.relayAddress).certhash}`)
  assert.equal(ready.httpUrl, `http://127.0.0.1:${ready.httpPort}`)
  assert.equal(ready.pageUrl, `${ready.httpUrl}/#/${ready.relayAddress}`)
  assert.match(server.output(), new RegExp(`page: +${escape(ready.pageUrl)}\\n`))
  assert.match(server.output(), new RegExp(`relay: +${escape(ready.relayAddress)} `))

  const page = await fetch(`${ready.httpUrl}/`)
  assert.equal(page.status, 200)
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/)
  assert.match(await page.text(), /<title>Keypin chat<\/title>/)
  const health = await fetch(`${ready.httpUrl}/health`)
  assert.equal(health.status, 200)
  const metrics = await fetch(`${ready.httpUrl}/metrics`)
  assert.equal(metrics.status, 200)
  assert.match(await metrics.text(), /^# (HELP|TYPE) /m)
  assert.equal((await (await fetch(`${ready.httpUrl}/relay-address`)).text()).trim(), ready.relayAddress)
  assert.equal((await fetch(`${ready.httpUrl}/../../etc/passwd`)).status, 404)
  assert.equal((await fetch(`${ready.httpUrl}/%2e%2e/package.json`)).status, 404)
})

test('settings come from the environment too; SIGINT shuts down cleanly; bad flags are refused', async () => {
  const otherDir = await mkdtemp(join(tmpdir(), 'keypin-chat-env-'))
  try {
    const second = await startChatProcess({ dataDir: otherDir, viaEnvironment: true })
    assert.ok(second.ready.relayPort > 0 && second.ready.httpPort > 0)
    assert.notEqual(second.ready.relayAddress, server.ready.relayAddress, 'another data directory, another identity')
    assert.equal((await fetch(`${second.ready.httpUrl}/health`)).status, 200)
    assert.equal(await second.stop('SIGINT'), 0, second.output())
    await assert.rejects(fetch(`${second.ready.httpUrl}/health`), 'the HTTP port is closed')
  } finally {
    await rm(otherDir, { recursive: true, force: true })
  }
  const badPort = await runChatRefusing(['--port', '70000'])
  assert.equal(badPort.code, 2)
  assert.match(badPort.stderr, /--port must be a port number from 0 to 65535, got "70000"/)
  const badHost = await runChatRefusing(['--http-host', 'localhost'])
  assert.equal(badHost.code, 2)
  assert.match(badHost.stderr, /--http-host must be an IP literal/)
})

test('each page shows its own user id and safety code', async () => {
  assert.notEqual(anaId, benId)
  assert.ok(anaId.length > 10 && benId.length > 10)
  assert.match(await ana.text('my-safety-code'), /^[0-9]+( [0-9]+)+$/)
  assert.notEqual(await ana.text('my-safety-code'), await ben.text('my-safety-code'))
})

test('two pages exchange direct messages through the UI; delivery state and typing show', async () => {
  await ana.addContact(benId, 'Ben')
  await ana.send('hello Ben, this is Ana')
  await ana.waitForState('hello Ben, this is Ana', 'delivered')

  // Ben's page adds Ana as a contact when her first message arrives.
  await ben.contactItem(anaId).waitFor({ timeout: UI_TIMEOUT })
  await ben.openContact(anaId)
  await ben.waitForMessage('hello Ben, this is Ana')

  // Ben types: Ana, who has the conversation open, sees it.
  await ben.byTestId('message-input').pressSequentially('hi', { delay: 20 })
  await ana.page.locator('[data-testid="typing"]', { hasText: /Ben is typing/ }).waitFor({ timeout: UI_TIMEOUT })
  await ben.send('hi Ana, Ben here')
  await ana.waitForMessage('hi Ana, Ben here')
  await ben.waitForState('hi Ana, Ben here', 'delivered')

  // Both sides show the same code for the pair: compared aloud, it proves no key was swapped.
  const anaSees = await ana.contactSafetyCode()
  assert.equal(await ben.contactSafetyCode(), anaSees)
  assert.notEqual(anaSees, await ana.text('my-safety-code'), 'the pair code is not either user\'s own code')
})

test('a page and a Node client over QUIC exchange direct messages', async () => {
  await ana.addContact(carl.client.userId, 'Carl')
  await ana.send('Ana to Carl over WebRTC')
  const received = await carl.waitFor('direct', (event) => event.text === 'Ana to Carl over WebRTC')
  assert.equal(received.from, anaId)
  await ana.waitForState('Ana to Carl over WebRTC', 'delivered')

  const sent = await carl.client.sendDirect(anaId, 'Carl to Ana over QUIC')
  await ana.waitForMessage('Carl to Ana over QUIC')
  if (sent.state !== 'delivered') await carl.waitFor('receipt', (event) => event.id === sent.id)
  assert.equal(await ana.contactSafetyCode(), await carl.client.contactSafetyCode(anaId))
})

test('rooms: create, join by id, messages to every member, extend, leave and revoke', async () => {
  // Ana creates a room in the page; its id is shown for sharing.
  await ana.byTestId('room-ttl').selectOption('3600000')
  await ana.byTestId('room-max-members').fill('5')
  await ana.byTestId('create-room').click()
  const roomId = await ana.text('room-id')
  assert.ok(roomId.length > 0)
  assert.match(await ana.text('room-members'), /Members 1\/5/)

  // Ben joins by id in his page, Carl from Node.
  await ben.byTestId('room-id-input').fill(roomId)
  await ben.byTestId('join-room').click()
  await ben.page.locator('[data-testid="room-id"]', { hasText: roomId }).waitFor({ timeout: UI_TIMEOUT })
  await ana.waitForNotice(/Ben joined the room/)
  const joined = await carl.client.joinRoom(roomId)
  assert.equal(joined.creator, anaId)
  await ana.waitForNotice(/Carl joined the room/)
  await ben.waitForNotice(/joined the room/)
  await ana.page.locator('[data-testid="room-members"]', { hasText: 'Members 3/5' }).waitFor({ timeout: UI_TIMEOUT })

  await ana.send('room hello from Ana')
  await ben.waitForMessage('room hello from Ana')
  const atCarl = await carl.waitFor('room', (event) => event.text === 'room hello from Ana')
  assert.equal(atCarl.roomId, roomId)
  assert.equal(atCarl.from, anaId)
  await ana.waitForState('room hello from Ana', 'delivered')

  await ben.send('room reply from Ben')
  await ana.waitForMessage('room reply from Ben')
  await carl.waitFor('room', (event) => event.text === 'room reply from Ben' && event.from === benId)
  await ben.waitForState('room reply from Ben', 'delivered')

  await carl.client.sendRoom(roomId, 'room note from Carl')
  await ana.waitForMessage('room note from Carl')
  await ben.waitForMessage('room note from Carl')

  // The creator extends the room: the expiry moves later.
  const expiresBefore = Number(await ana.byTestId('room-expires').getAttribute('data-expires-at'))
  await ana.byTestId('extend-ttl').selectOption('604800000')
  await ana.byTestId('extend-room').click()
  await ana.page.waitForFunction(
    (before) => Number(document.querySelector('[data-testid="room-expires"]')?.getAttribute('data-expires-at')) > before + 86_400_000,
    expiresBefore,
    { timeout: UI_TIMEOUT },
  )
  // Only the creator gets the controls.
  assert.equal(await ben.byTestId('extend-room').count(), 0)
  assert.equal(await ben.byTestId('revoke-room').count(), 0)

  // Ben leaves: the others are told.
  await ben.byTestId('leave-room').click()
  await ben.roomItem(roomId).waitFor({ state: 'detached', timeout: UI_TIMEOUT })
  await ana.waitForNotice(/Ben left the room/)
  await carl.waitFor('member-left', (event) => event.roomId === roomId && event.userId === benId)

  // Ana revokes it: Carl's client hears, and Ana's page shows it closed.
  await ana.byTestId('revoke-room').click()
  const closed = await carl.waitFor('room-closed', (event) => event.roomId === roomId)
  assert.equal(closed.reason, 'revoked')
  await ana.page.locator('[data-testid="room-expires"]', { hasText: 'Closed (revoked)' }).waitFor({ timeout: UI_TIMEOUT })
  assert.equal(await ana.byTestId('send-button').isDisabled(), true)
})

test('a message to a user who is away is stored, then delivered when they are back', async () => {
  await ana.openContact(benId)
  const benDot = ana.contactItem(benId).getByTestId('contact-presence-dot')
  // Ben's page leaves the relay: pointed at an address that cannot be dialed, it closes its connection.
  await ben.connectTo('not an address')
  await ben.waitForStatus('failed')
  await ana.page.waitForFunction(
    (id) => document.querySelector(`[data-testid="contact-item"][data-user-id="${id}"] [data-testid="contact-presence-dot"]`)?.getAttribute('data-online') === 'false',
    benId,
    { timeout: UI_TIMEOUT },
  )

  await ana.send('while you were away')
  await ana.waitForState('while you were away', 'stored')
  await new Promise((resolve) => setTimeout(resolve, 1000))
  assert.equal(await ana.message('while you were away', 'out').getAttribute('data-state'), 'stored', 'nobody to deliver to yet')

  await ben.connectTo(server.ready.relayAddress)
  await ben.waitForStatus('connected')
  await ben.openContact(anaId)
  await ben.waitForMessage('while you were away')
  await ana.waitForState('while you were away', 'delivered')
  assert.equal(await benDot.getAttribute('data-online'), 'true')
})

test('a malformed address shows the address parser\'s own error', async () => {
  for (const bad of ['not an address', '127.0.0.1:99999:uEiA', `127.0.0.1:${server.ready.relayPort}:zzzz`]) {
    await ben.connectTo(bad)
    await ben.waitForStatus('failed')
    const expected = parseError(bad)
    assert.equal(await ben.text('connection-error'), `${expected.code}: ${expected.message}`)
  }
  // Back to the real relay.
  await ben.connectTo(server.ready.relayAddress)
  await ben.waitForStatus('connected')
})

test('a wrong certhash fails the dial with a typed error the page shows', async () => {
  const other = await generateServerIdentity()
  const wrong = server.ready.relayAddress.replace(parseAddress(server.ready.relayAddress).certhash, other.certhash)
  await ben.connectTo(wrong)
  // The relay stays silent to a dialer that does not know its certhash, so the handshake times out.
  await ben.waitForStatus(/^(waiting|connecting)$/)
  await ben.page
    .locator('[data-testid="connection-error"]', { hasText: /^timeout: the WebRTC handshake with .* did not complete/ })
    .waitFor({ timeout: UI_TIMEOUT })
  assert.match(await ben.text('connection-hint'), /certhash/)
  // It is not taken for a typo: the page keeps trying, with backoff.
  await ben.page.locator('[data-testid="status"]', { hasText: /attempt 2\)$/ }).waitFor({ timeout: UI_TIMEOUT })

  await ben.connectTo(server.ready.relayAddress)
  await ben.waitForStatus('connected')
})

test('after a relay restart on the same ports, identity and database, pages reconnect and stored mail is delivered', async () => {
  const { relayPort, httpPort, relayAddress, pageUrl } = server.ready
  // Ben closes the page; Ana writes to him meanwhile, so the relay stores the message in its database.
  await ben.page.goto('about:blank')
  await ana.openContact(benId)
  await ana.send('kept across the restart')
  await ana.waitForState('kept across the restart', 'stored')

  await carl.close()
  assert.equal(await server.stop('SIGTERM'), 0, `graceful exit\n${server.output()}`)
  // Ana's page notices and retries; while the relay is down the status says so.
  await ana.waitForStatus(/^(waiting|connecting)$/)

  server = await startChatProcess({ dataDir, relayPort, httpPort })
  assert.equal(server.ready.relayAddress, relayAddress, 'same identity, same address')
  await ana.waitForStatus('connected', 60_000)

  // Ben comes back: the same profile is the same user, with the same contacts.
  await ben.page.goto(pageUrl)
  await ben.waitForStatus('connected')
  assert.equal(await ben.myId(), benId)
  await ben.openContact(anaId)
  await ben.waitForMessage('kept across the restart')
  await ana.waitForState('kept across the restart', 'delivered')

  await ana.send('after the restart')
  await ana.waitForState('after the restart', 'delivered')
  await ben.waitForMessage('after the restart')
})

test('a relay killed without warning is noticed and the pages reconnect once it is back', { timeout: 180_000 }, async () => {
  const { relayPort, httpPort } = server.ready
  await server.stop('SIGKILL')
  // Nothing tells the pages: they find out when the path goes quiet.
  await Promise.all([ana.waitForStatus(/^(waiting|connecting)$/, 90_000), ben.waitForStatus(/^(waiting|connecting)$/, 90_000)])
  server = await startChatProcess({ dataDir, relayPort, httpPort })
  await Promise.all([ana.waitForStatus('connected', 60_000), ben.waitForStatus('connected', 60_000)])
  await ben.send('after the crash')
  await ben.waitForState('after the crash', 'delivered')
  await ana.waitForMessage('after the crash')
})

function parseError(address: string): KeypinError {
  try {
    parseAddress(address)
  } catch (error) {
    if (error instanceof KeypinError) return error
    throw error
  }
  throw new Error(`${address} parsed`)
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
