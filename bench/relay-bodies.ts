/**
 * The messages the relay bench sends: real sealed messages (X25519 +
 * XChaCha20-Poly1305 to a prekey, Ed25519-signed), sealed once before the
 * run and reused. The relay never opens a message, so a pool of genuine
 * bodies puts the real size and shape on the wire while keeping sealing,
 * which is the sending client's cost, out of the generator's CPU.
 */
import { randomBytes } from 'node:crypto'
import { encodeSealed, generateIdentity, generatePrekey, sealMessage, toBase64url, userIdOf } from '@keypin/relay'

/** `count` sealed direct messages of `textBytes` random plaintext each, as the base64url the wire carries. */
export function sealedBodies(count: number, textBytes: number): string[] {
  const sender = generateIdentity()
  const recipient = generateIdentity()
  const { prekey } = generatePrekey(recipient, 1)
  const to = userIdOf(recipient.publicKey)
  return Array.from({ length: count }, () =>
    toBase64url(
      encodeSealed(
        sealMessage({ sender, to, recipientIdentityKey: recipient.publicKey, recipientPrekey: prekey, context: 'dm', plaintext: randomBytes(textBytes) }),
      ),
    ),
  )
}

/** The payload size of the relay's `send` frame for `body`, with typical ids: the baselines' message size. */
export function relaySendPayloadBytes(body: string): number {
  const user = `k${'a'.repeat(32)}`
  return `{"t":"send","requestId":123456,"from":"${user}","to":"${user}","id":"m1g0_1a2b3c4d5e_1a2b","context":"dm","message":"${body}"}`.length
}
