/**
 * Safety codes: digits two people read to each other to confirm they hold
 * each other's real identity keys (and not keys a relay swapped in).
 *
 * One key's code is 30 digits in 6 groups of 5:
 *
 *   digest = SHA-256("keypin-relay-safety-v1" || publicKey)
 *   group i = (digest[5i .. 5i+5) as a 40-bit big-endian integer) mod 100000, i = 0..5
 *
 * The code for a pair of keys is the two single-key codes, the one of the
 * byte-wise smaller key first: 12 groups, the same on both sides. It is not a
 * hash of both keys together on purpose: with a joint hash a man in the
 * middle picks both substituted keys and needs only a birthday collision
 * (about 2^50 tries for 100 bits); with one code per key he must match the
 * victim's code for a key he does not choose (about 2^100). Each half can
 * also be checked on its own against a code published elsewhere.
 *
 * This file does not decide whether a code was compared; that is the UI's job.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { concatBytes } from '@noble/hashes/utils.js'
import { assertIdentityPublicKey } from './identity.js'

/** Groups in the code of one key. */
export const SAFETY_CODE_GROUPS = 6
/** Digits in one group. */
export const SAFETY_CODE_GROUP_DIGITS = 5

const DOMAIN = new TextEncoder().encode('keypin-relay-safety-v1')
const GROUP_BYTES = 5

/**
 * The safety code of one identity key, or of two (order-independent).
 * Groups are separated by single spaces. Throws `bad-input` for a malformed key.
 */
export function safetyCode(publicKeyA: Uint8Array, publicKeyB?: Uint8Array): string {
  assertIdentityPublicKey(publicKeyA, 'publicKeyA')
  if (publicKeyB === undefined) return groupsOf(publicKeyA).join(' ')
  assertIdentityPublicKey(publicKeyB, 'publicKeyB')
  const ordered = compareBytes(publicKeyA, publicKeyB) <= 0 ? [publicKeyA, publicKeyB] : [publicKeyB, publicKeyA]
  const [first, second] = ordered as [Uint8Array, Uint8Array]
  return [...groupsOf(first), ...groupsOf(second)].join(' ')
}

function groupsOf(publicKey: Uint8Array): string[] {
  const digest = sha256(concatBytes(DOMAIN, publicKey))
  const groups: string[] = []
  for (let i = 0; i < SAFETY_CODE_GROUPS; i++) {
    let value = 0
    // 40 bits fit a double exactly; mod 100000 is biased by under 2^-23.
    for (const byte of digest.subarray(i * GROUP_BYTES, (i + 1) * GROUP_BYTES)) value = value * 256 + byte
    groups.push(String(value % 10 ** SAFETY_CODE_GROUP_DIGITS).padStart(SAFETY_CODE_GROUP_DIGITS, '0'))
  }
  return groups
}

/** Lexicographic order of two equal-length byte strings. */
function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) {
    const difference = (a[i] as number) - (b[i] as number)
    if (difference !== 0) return difference
  }
  return 0
}
