/**
 * `keypin chat` against `keypin serve --relay`, all three as child
 * processes over real UDP, driven through piped stdin: two users exchange a
 * direct message and a room message, compare safety codes, and a message
 * sent while one is away arrives when that user comes back with the same
 * identity file.
 */
import assert from 'node:assert/strict'
import { chmod, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { run, serve, start, STEP_MS, temporaryDirectory, within, type Lines, type Running } from './support.js'

const USER = '(k[a-z2-7]{32})'

interface Chat {
  readonly running: Running
  readonly lines: Lines
  readonly userId: string
  send(line: string): void
  /** Sends /quit and returns the exit status. */
  quit(): Promise<number | null>
}

async function startChat(t: TestContext, address: string, identityFile: string, extra: string[] = []): Promise<Chat> {
  const running = start(t, ['chat', address, '--identity', identityFile, ...extra])
  const lines = running.stdoutLines
  const [, userId] = await lines.expect(new RegExp(`^\\[me\\] ${USER}$`))
  await lines.expect(/^\[me\] safety code [0-9 ]+$/)
  return {
    running,
    lines,
    userId: userId as string,
    send: (line) => void running.child.stdin.write(`${line}\n`),
    quit: async () => {
      running.child.stdin.write('/quit\n')
      return (await within(STEP_MS, running.exited, 'keypin chat after /quit')).code
    },
  }
}

test('two keypin chat processes talk through keypin serve --relay', async (t) => {
  const directory = await temporaryDirectory(t)
  const relay = await serve(t, [
    '--relay',
    '--port', '0',
    '--identity', join(directory, 'relay.pem'),
    '--db', join(directory, 'data', 'relay.db'),
    '--http', '127.0.0.1:0',
  ])
  const [, httpUrl] = await relay.stderrLines.expect(/^  metrics: +(http:\/\/\S+)\/metrics/)
  const health = await fetch(`${httpUrl}/health`)
  assert.equal(health.status, 200)
  await health.body?.cancel()
  const alice = await startChat(t, relay.address, join(directory, 'alice.key'))
  const bob = await startChat(t, relay.address, join(directory, 'bob.key'))
  assert.notEqual(alice.userId, bob.userId)

  // A direct message, delivered while both are online.
  alice.send(`/dm ${bob.userId} hello bob, this is alice`)
  await bob.lines.expect(new RegExp(`^\\[dm\\] ${alice.userId}: hello bob, this is alice$`))
  await alice.lines.expect(/^\[sent\] \S+ (stored|delivered)$/)

  // A room: alice creates it, bob joins, bob's message reaches alice.
  alice.send('/room create 5 4')
  const [, roomId] = await alice.lines.expect(
    new RegExp(`^\\[room-created\\] (\\S+) expires=\\S+ max=4 creator=${alice.userId} members=${alice.userId}$`),
  )
  bob.send(`/room join ${roomId}`)
  await bob.lines.expect(new RegExp(`^\\[room-joined\\] ${roomId} .* members=.*${bob.userId}`))
  await alice.lines.expect(new RegExp(`^\\[joined\\] ${roomId} ${bob.userId}$`))
  bob.send(`/say ${roomId} hi room, bob here`)
  await alice.lines.expect(new RegExp(`^\\[room\\] ${roomId} ${bob.userId}: hi room, bob here$`))
  await bob.lines.expect(new RegExp(`^\\[sent\\] room ${roomId} to 1 member$`))

  // Both sides compute the same safety code for the pair.
  alice.send(`/safety ${bob.userId}`)
  bob.send(`/safety ${alice.userId}`)
  const [, aliceView] = await alice.lines.expect(new RegExp(`^\\[safety\\] ${bob.userId} ([0-9 ]+)$`))
  const [, bobView] = await bob.lines.expect(new RegExp(`^\\[safety\\] ${alice.userId} ([0-9 ]+)$`))
  assert.equal(aliceView, bobView)

  // Mistakes are reported on the transcript; the chat goes on.
  alice.send('no slash here')
  await alice.lines.expect(/^\[error\] usage: commands start with "\/"/)
  alice.send('/room join no-such-room')
  await alice.lines.expect(/^\[error\] \S+: /)

  // Bob leaves; a message to him is stored and waits for his return.
  bob.send(`/room leave ${roomId}`)
  await alice.lines.expect(new RegExp(`^\\[left\\] ${roomId} ${bob.userId}$`))
  assert.equal(await bob.quit(), 0)
  alice.send(`/dm ${bob.userId} while you were away`)
  await alice.lines.expect(/^\[sent\] \S+ stored$/)
  const bobAgain = await startChat(t, relay.address, join(directory, 'bob.key'))
  assert.equal(bobAgain.userId, bob.userId, 'the identity file keeps the user id')
  await bobAgain.lines.expect(new RegExp(`^\\[dm\\] ${alice.userId}: while you were away$`))

  // End of input ends a chat as /quit does.
  alice.running.child.stdin.end()
  assert.equal((await within(STEP_MS, alice.running.exited, 'keypin chat at end of input')).code, 0)
  assert.equal(await bobAgain.quit(), 0)
  const metrics = await (await fetch(`${httpUrl}/metrics`)).text()
  assert.match(metrics, /^# (HELP|TYPE) /m, 'Prometheus text on /metrics')
  const stopped = await relay.stop('SIGTERM')
  assert.equal(stopped.code, 0, stopped.stderr)
})

test('--timeout bounds connecting only; the relay going away ends the chat with exit 1', async (t) => {
  const directory = await temporaryDirectory(t)
  const relay = await serve(t, ['--relay', '--port', '0', '--identity', join(directory, 'relay.pem'), '--db', join(directory, 'relay.db')])
  const alice = await startChat(t, relay.address, join(directory, 'alice.key'), ['--timeout', '1000'])
  const bob = await startChat(t, relay.address, join(directory, 'bob.key'), ['--timeout', '1000'])
  await new Promise((resolve) => setTimeout(resolve, 2_000))
  alice.send(`/dm ${bob.userId} still here after the timeout`)
  await bob.lines.expect(new RegExp(`^\\[dm\\] ${alice.userId}: still here after the timeout$`))

  assert.equal((await relay.stop('SIGINT')).code, 0)
  for (const chat of [alice, bob]) {
    await chat.lines.expect(/^\[closed\] shutting-down: /)
    const finished = await within(STEP_MS, chat.running.exited, 'keypin chat after the relay stopped')
    assert.equal(finished.code, 1)
    assert.match(finished.stderr, /^keypin chat: shutting-down: .+\n$/)
  }
})

test('keypin chat fails with one line when it cannot reach a relay', async (t) => {
  const directory = await temporaryDirectory(t)
  const echo = await serve(t, ['--port', '0', '--identity', join(directory, 'echo.pem')])
  const [host, port, certhash] = echo.address.split(':') as [string, string, string]
  const wrongPin = `${host}:${port}:${certhash.slice(0, 10)}${certhash[10] === 'A' ? 'B' : 'A'}${certhash.slice(11)}`
  const pinned = await run(t, ['chat', wrongPin, '--identity', join(directory, 'alice.key')])
  assert.equal(pinned.code, 1)
  assert.match(pinned.stderr, /^keypin chat: pin-mismatch: .+\n$/)
  // An echo listener is no relay: the login cannot complete in time.
  const notRelay = await run(t, ['chat', echo.address, '--identity', join(directory, 'alice.key'), '--timeout', '1500'])
  assert.equal(notRelay.code, 1)
  assert.match(notRelay.stderr, /^keypin chat: \S+: .+\n$/)
  assert.equal((await echo.stop()).code, 0)
})

test('keypin chat refuses an identity file that is readable by others or not a key', async (t) => {
  const directory = await temporaryDirectory(t)
  const address = '127.0.0.1:9:uEiBmtLk5zF_t1TmktyhN6AlGtMrbmweddpaNPrAQ8Gg_Ug' // never reached
  const open = join(directory, 'open.key')
  await writeFile(open, `${'11'.repeat(32)}\n`, { mode: 0o644 })
  await chmod(open, 0o644)
  const short = join(directory, 'short.key')
  await writeFile(short, `${'11'.repeat(16)}\n`, { mode: 0o600 })
  for (const [file, problem] of [[open, /readable by other users/], [short, /holds 16 bytes; an Ed25519 secret is 32/]] as const) {
    const finished = await run(t, ['chat', address, '--identity', file])
    assert.equal(finished.code, 1)
    assert.match(finished.stderr, /^keypin chat: identity-error: /)
    assert.match(finished.stderr, problem)
  }
})
