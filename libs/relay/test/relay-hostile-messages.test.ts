/**
 * A logged-in attacker crafting raw frames on a raw control stream: every
 * forged, tampered, replayed, misaddressed or garbage message reaches the
 * victim's client, which rejects it (and acknowledges it, so the queue
 * drains). A well-formed message sent the same way is accepted, so the
 * path itself works.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import {
  encodeSealed,
  fromBase64url,
  generateIdentity,
  roomContext,
  sealMessage,
  toBase64url,
  userIdOf,
  type IdentityKeyPair,
  type SealedMessage,
  type SignedPrekey,
} from '@keypin/relay'
import { connectClient, RawControl, startTestRelay, waitUntil, type Frame } from './support.js'

interface Keys {
  identityKey: Uint8Array
  prekey: SignedPrekey
}

async function fetchKeys(raw: RawControl, user: string): Promise<Keys> {
  const requestId = await raw.request({ t: 'keys', user })
  const reply = await raw.nextOf('ok')
  assert.equal(reply['requestId'], requestId)
  const prekey = reply['prekey'] as Record<string, unknown>
  return {
    identityKey: fromBase64url(reply['publicKey'] as string) as Uint8Array,
    prekey: {
      id: prekey['id'] as number,
      publicKey: fromBase64url(prekey['publicKey'] as string) as Uint8Array,
      createdAt: prekey['createdAt'] as number,
      signature: fromBase64url(prekey['signature'] as string) as Uint8Array,
    },
  }
}

function seal(sender: IdentityKeyPair, to: string, keys: Keys, text: string, context = 'dm'): SealedMessage {
  return sealMessage({
    sender,
    to,
    recipientIdentityKey: keys.identityKey,
    recipientPrekey: keys.prekey,
    context,
    plaintext: new TextEncoder().encode(text),
  })
}

/** Sends `message` bytes as a direct message from the raw session; returns the relay's answer. */
async function sendRaw(raw: RawControl, from: string, to: string, id: string, bytes: Uint8Array): Promise<Frame> {
  const requestId = await raw.request({ t: 'send', from, to, id, context: 'dm', message: toBase64url(bytes) })
  for (;;) {
    const frame = await raw.next()
    assert.ok(frame, 'the relay closed the stream')
    if (frame['requestId'] === requestId) return frame
  }
}

test('tampered, forged, misaddressed, replayed and garbage messages are rejected by the recipient', { timeout: 60_000 }, async (t) => {
  const { address, relay } = await startTestRelay(t)
  const bob = await connectClient(t, address)
  const carol = await connectClient(t, address)
  const mallory = generateIdentity()
  const malloryId = userIdOf(mallory.publicKey)
  const eve = generateIdentity()
  const raw = await RawControl.open(t, address)
  assert.equal((await raw.login(mallory))['t'], 'ok')
  const bobKeys = await fetchKeys(raw, bob.client.userId)
  const carolKeys = await fetchKeys(raw, carol.client.userId)

  const expectStored = (frame: Frame): void => assert.deepEqual([frame['t'], frame['state']], ['ok', 'stored'], JSON.stringify(frame))

  // 1. A byte of the ciphertext flipped in transit.
  const flipped = seal(mallory, bob.client.userId, bobKeys, 'flip me')
  const ciphertext = flipped.ciphertext.slice()
  ciphertext[0] = (ciphertext[0] as number) ^ 1
  expectStored(await sendRaw(raw, malloryId, bob.client.userId, flipped.id, encodeSealed({ ...flipped, ciphertext })))

  // 2. Sealed for a room, delivered as a direct message (context swap).
  const swapped = seal(mallory, bob.client.userId, bobKeys, 'not a dm', roomContext('r' + 'a'.repeat(26)))
  expectStored(await sendRaw(raw, malloryId, bob.client.userId, swapped.id, encodeSealed(swapped)))

  // 3. Signed by Eve's key while claiming to be from Mallory.
  const forged = { ...seal(eve, bob.client.userId, bobKeys, 'forged'), from: malloryId }
  expectStored(await sendRaw(raw, malloryId, bob.client.userId, forged.id, encodeSealed(forged)))

  // 4. Eve's genuine message to Bob, re-sent by Mallory (the sealed sender is not the relay-checked sender).
  const evesMessage = seal(eve, bob.client.userId, bobKeys, 'from eve')
  expectStored(await sendRaw(raw, malloryId, bob.client.userId, evesMessage.id, encodeSealed(evesMessage)))

  // 5. Sealed for Carol, delivered to Bob.
  const forCarol = seal(mallory, carol.client.userId, carolKeys, 'for carol')
  expectStored(await sendRaw(raw, malloryId, bob.client.userId, forCarol.id, encodeSealed(forCarol)))

  // 6. Not a sealed message at all.
  expectStored(await sendRaw(raw, malloryId, bob.client.userId, 'garbage1', new TextEncoder().encode('definitely not sealed')))

  const rejected = await bob.recorder.wait('rejected', 6)
  const reasons = new Map(rejected.map((r) => [r.id, r.reason]))
  assert.equal(reasons.get(flipped.id), 'bad-signature')
  assert.equal(reasons.get(swapped.id), 'tampered')
  assert.equal(reasons.get(forged.id), 'bad-signature')
  assert.equal(reasons.get(evesMessage.id), 'bad-sender')
  assert.equal(reasons.get(forCarol.id), 'wrong-recipient')
  assert.equal(reasons.get('garbage1'), 'bad-input')
  assert.equal(bob.recorder.events.direct.length, 0, 'nothing forged was shown as a message')
  // Rejected messages are acknowledged too, so the queue drains.
  await waitUntil(() => relay.stats.messagesQueued === 0, 5_000, 'the rejected messages are acknowledged')

  // 7. A genuine message the same way is accepted (the path works)...
  const genuine = seal(mallory, bob.client.userId, bobKeys, 'genuine')
  expectStored(await sendRaw(raw, malloryId, bob.client.userId, genuine.id, encodeSealed(genuine)))
  const [shown] = await bob.recorder.wait('direct')
  assert.deepEqual([shown?.id, shown?.text, shown?.from], [genuine.id, 'genuine', malloryId])
  await waitUntil(() => relay.stats.messagesQueued === 0, 5_000, 'the genuine message is acknowledged')
  // ...and the same bytes again, after the first copy was acknowledged and deleted, are a replay.
  expectStored(await sendRaw(raw, malloryId, bob.client.userId, genuine.id, encodeSealed(genuine)))
  await bob.recorder.wait('rejected', 1, (r) => r.id === genuine.id && r.reason === 'replay')
  assert.equal(bob.recorder.events.direct.length, 1)
  await waitUntil(() => relay.stats.messagesQueued === 0, 5_000, 'the replay is acknowledged')
})

test('the relay refuses frames that speak for another user, oversize messages and malformed fields', { timeout: 30_000 }, async (t) => {
  const { address } = await startTestRelay(t, { limits: { maxMessageBytes: 4_096 } })
  const bob = await connectClient(t, address)
  const mallory = generateIdentity()
  const raw = await RawControl.open(t, address)
  await raw.login(mallory)
  const errorFor = async (frame: Record<string, unknown>): Promise<Frame> => {
    const requestId = await raw.request(frame)
    const reply = await raw.nextOf('error')
    assert.equal(reply['requestId'], requestId, JSON.stringify(reply))
    return reply
  }
  const base = { t: 'send', to: bob.client.userId, id: 'x1', context: 'dm', message: toBase64url(new Uint8Array(100)) }
  assert.equal((await errorFor({ ...base, from: bob.client.userId }))['code'], 'forbidden')
  assert.equal((await errorFor({ ...base, from: userIdOf(mallory.publicKey), message: toBase64url(new Uint8Array(5_000)) }))['code'], 'too-large')
  assert.equal((await errorFor({ ...base, from: userIdOf(mallory.publicKey), context: 'room:whatever' }))['code'], 'bad-frame')
  assert.equal((await errorFor({ t: 'keys', user: 'not-a-user' }))['code'], 'bad-frame')
  assert.equal((await errorFor({ t: 'no-such-type' }))['code'], 'bad-frame')
  assert.equal((await errorFor({ t: 'room-create', ttlMs: -5, maxMembers: 2 }))['code'], 'bad-frame')
  assert.equal((await errorFor({ t: 'room-send', room: 'r' + 'b'.repeat(26), from: userIdOf(mallory.publicKey), messages: [] }))['code'], 'bad-frame')
  const message = (await errorFor({ t: 'keys', user: 12 }))['message'] as string
  assert.match(message, /user must be a user id/)
  // The connection is still usable after errors that are not fatal.
  await raw.request({ t: 'keys', user: bob.client.userId })
  assert.equal((await raw.nextOf('ok'))['user'], bob.client.userId)
  assert.equal(bob.recorder.events.rejected.length + bob.recorder.events.direct.length, 0)
})
