/**
 * The client SDK against a relay that misbehaves: garbage instead of
 * frames, a hello for another certhash or version, silence, a malformed
 * push after login. connectRelay fails with a typed RelayError, or the
 * client closes with one; nothing throws out of nowhere. Also: bad
 * arguments and an aborted signal.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Connection, Stream } from '@keypin/core'
import { dial } from '@keypin/quic-client'
import { listen } from '@keypin/server'
import { connectRelay, encodeFrame, FrameDecoder, generateIdentity, RelayError, toBase64url, userIdOf } from '@keypin/relay'
import { Recorder, rejectsWith, STEP_MS, withTimeout } from './support.js'

type Script = (stream: Stream, frames: AsyncGenerator<Record<string, unknown>>) => Promise<void>

/** A listener whose control-stream side is played by `script`. */
async function fakeRelay(t: { after(fn: () => unknown): void }, script: Script): Promise<{ address: string; certhash: string }> {
  const listener = await listen({ host: '127.0.0.1', port: 0, webrtc: false })
  const connections: Connection[] = []
  void (async () => {
    for await (const connection of listener) {
      connections.push(connection)
      void (async () => {
        const stream = await connection.acceptStream()
        const reader = stream.readable.getReader()
        const decoder = new FrameDecoder()
        async function* frames(): AsyncGenerator<Record<string, unknown>> {
          for (;;) {
            const { value, done } = await reader.read()
            if (done) return
            for (const payload of decoder.push(value)) yield JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>
          }
        }
        await script(stream, frames()).catch(() => {})
      })()
    }
  })()
  t.after(async () => {
    await Promise.all(connections.map((c) => c.close().catch(() => {})))
    await listener.close()
  })
  return { address: listener.address, certhash: listener.certhash }
}

async function attempt(address: string, certhash: string, requestTimeoutMs = STEP_MS): Promise<unknown> {
  const connection = await dial(address, { signal: AbortSignal.timeout(STEP_MS) })
  try {
    return await connectRelay(connection, { identity: generateIdentity(), certhash, requestTimeoutMs })
  } finally {
    await connection.close().catch(() => {})
  }
}

function hello(certhash: string, v = 1): Record<string, unknown> {
  return {
    t: 'hello',
    v,
    nonce: toBase64url(new Uint8Array(32)),
    certhash,
    limits: { maxFrameBytes: 65_536, maxMessageBytes: 32_768, messageTtlMs: 1_000, maxRoomMembers: 10, maxRoomTtlMs: 1_000 },
  }
}

test('garbage instead of a hello is a protocol-error', { timeout: 20_000 }, async (t) => {
  const relay = await fakeRelay(t, async (stream) => {
    await stream.writable.getWriter().write(new Uint8Array([0, 0, 0, 3, 1, 2, 3]))
  })
  await rejectsWith(attempt(relay.address, relay.certhash), 'protocol-error')
})

test('a hello naming another certhash fails the login before anything is signed for it', { timeout: 20_000 }, async (t) => {
  let logins = 0
  const relay = await fakeRelay(t, async (stream, frames) => {
    const writer = stream.writable.getWriter()
    for await (const frame of frames) {
      if (frame['t'] === 'hello') await writer.write(encodeFrame(hello('uEiA' + 'A'.repeat(43))))
      if (frame['t'] === 'login') logins++
    }
  })
  const error = await rejectsWith(attempt(relay.address, relay.certhash), 'login-failed')
  assert.match(error.message, /certhash/)
  assert.equal(logins, 0)
})

test('a hello of another version, a malformed hello, and silence', { timeout: 20_000 }, async (t) => {
  const v2 = await fakeRelay(t, async (stream, frames) => {
    for await (const frame of frames) if (frame['t'] === 'hello') await stream.writable.getWriter().write(encodeFrame(hello(v2.certhash, 2)))
  })
  await rejectsWith(attempt(v2.address, v2.certhash), 'unsupported-version')

  const malformed = await fakeRelay(t, async (stream, frames) => {
    for await (const frame of frames) if (frame['t'] === 'hello') await stream.writable.getWriter().write(encodeFrame({ ...hello(malformed.certhash), nonce: 'short' }))
  })
  await rejectsWith(attempt(malformed.address, malformed.certhash), 'protocol-error')

  const silent = await fakeRelay(t, async (_stream, frames) => {
    for await (const _frame of frames) void _frame
  })
  await rejectsWith(attempt(silent.address, silent.certhash, 300), 'timeout')
})

test('a malformed push after login closes the client with protocol-error', { timeout: 20_000 }, async (t) => {
  const relay = await fakeRelay(t, async (stream, frames) => {
    const writer = stream.writable.getWriter()
    for await (const frame of frames) {
      if (frame['t'] === 'hello') await writer.write(encodeFrame(hello(relay.certhash)))
      if (frame['t'] === 'login') {
        const user = userIdOf(Uint8Array.from(Buffer.from(frame['publicKey'] as string, 'base64url')))
        await writer.write(encodeFrame({ t: 'ok', requestId: frame['requestId'], user, queued: 0 }))
        await writer.write(encodeFrame({ t: 'member-joined', room: 'not a room', user }))
      }
    }
  })
  const connection = await dial(relay.address, { signal: AbortSignal.timeout(STEP_MS) })
  t.after(() => connection.close())
  const client = await connectRelay(connection, { identity: generateIdentity(), certhash: relay.certhash })
  const recorder = new Recorder(client)
  const [closed] = await recorder.wait('close')
  assert.ok(closed?.error instanceof RelayError)
  assert.equal(closed.error.code, 'protocol-error')
  await withTimeout(client.closed, STEP_MS, 'closed resolves')
  assert.equal(recorder.events['member-joined'].length, 0)
})

test('bad arguments and an aborted signal are typed errors', { timeout: 20_000 }, async (t) => {
  const relay = await fakeRelay(t, async () => {})
  const connection = await dial(relay.address, { signal: AbortSignal.timeout(STEP_MS) })
  t.after(() => connection.close())
  const identity = generateIdentity()
  const bad: [unknown, unknown, RegExp][] = [
    [undefined, { identity, certhash: relay.certhash }, /connection/],
    [connection, { identity: { publicKey: 'x' }, certhash: relay.certhash }, /identity/],
    [connection, { identity, certhash: 42 }, /certhash/],
    [connection, { identity, certhash: relay.certhash, requestTimeoutMs: -1 }, /requestTimeoutMs/],
    [connection, { identity, certhash: relay.certhash, store: {} }, /store/],
  ]
  for (const [conn, options, pattern] of bad) {
    const error = await rejectsWith(connectRelay(conn as Connection, options as Parameters<typeof connectRelay>[1]), 'invalid-argument')
    assert.match(error.message, pattern)
  }
  await rejectsWith(connectRelay(connection, { identity, certhash: relay.certhash, signal: AbortSignal.abort() }), 'aborted')
  const controller = new AbortController()
  const pending = connectRelay(connection, { identity, certhash: relay.certhash, signal: controller.signal })
  setTimeout(() => controller.abort(), 100)
  await rejectsWith(pending, 'aborted')
})
