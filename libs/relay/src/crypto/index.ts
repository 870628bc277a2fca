/**
 * End-to-end crypto for the Keypin messaging relay: identities, user ids,
 * safety codes, login challenges, signed prekeys, sealed messages and replay
 * detection. The relay only ever handles what these functions produce; it
 * cannot read sealed messages or forge them. Browser-safe.
 *
 * The design is in sections 8.11-8.15 of the repository's SPEC.md; what it
 * does not protect, in SECURITY.md.
 */
export { RelayCryptoError, type RelayCryptoErrorCode } from './errors.js'
export {
  IDENTITY_PUBLIC_KEY_LENGTH,
  IDENTITY_SECRET_KEY_LENGTH,
  SIGNATURE_LENGTH,
  generateIdentity,
  identityFromSecret,
  isIdentityPublicKey,
  type IdentityKeyPair,
} from './identity.js'
export { USER_ID_LENGTH, isUserId, userIdOf } from './user-id.js'
export { SAFETY_CODE_GROUPS, SAFETY_CODE_GROUP_DIGITS, safetyCode } from './safety-code.js'
export { LOGIN_NONCE_LENGTH, loginMessage, signLogin, verifyLogin, type LoginChallenge } from './login.js'
export {
  MAX_PREKEY_ID,
  PREKEY_PUBLIC_KEY_LENGTH,
  PREKEY_SECRET_KEY_LENGTH,
  generatePrekey,
  prekeyFromSecret,
  verifyPrekey,
  type PrekeyPair,
  type SignedPrekey,
} from './prekey.js'
export {
  MAX_CIPHERTEXT_BYTES,
  MAX_CONTEXT_BYTES,
  MAX_PLAINTEXT_BYTES,
  MAX_SEALED_BYTES,
  SEALED_VERSION,
  decodeSealed,
  encodeSealed,
  isContext,
  isMessageId,
  type SealedMessage,
} from './encoding.js'
export { openMessage, sealMessage, type OpenInput, type SealInput } from './seal.js'
export {
  REPLAY_DEFAULTS,
  ReplayGuard,
  type ReplayGuardOptions,
  type ReplayVerdict,
} from './replay.js'
