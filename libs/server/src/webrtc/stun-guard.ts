/**
 * The gate in front of node-datachannel: decides whether the first STUN
 * datagram from an unknown source may start a WebRTC handshake, and if so
 * which ICE credentials the handshake uses.
 *
 * Everything here runs on bytes any host on the network can send, before any
 * per-peer state exists, so it is strict and cheap: parse, split USERNAME,
 * validate every credential (an invalid ufrag or pwd handed to
 * node-datachannel aborts the process), derive the server password from the
 * certificate digest and verify MESSAGE-INTEGRITY with it. A request made
 * without the certhash fails here and is never answered (probe silence).
 *
 * It does not answer STUN, keep state, or talk to node-datachannel.
 */
import {
  deriveIcePassword,
  getUsername,
  isBindingRequest,
  isValidIcePwd,
  isValidIceUfrag,
  parseStunMessage,
  splitIceUsername,
  stunShortTermKey,
  verifyFingerprint,
  verifyMessageIntegrity,
  type StunMessage,
} from '@keypin/core'

export type IceHandshake = 'classic' | 'no-munge'

/** The credentials of an admitted handshake, all validated ICE strings. */
export interface AdmittedBinding {
  handshake: IceHandshake
  /** First USERNAME half: the ufrag the server must use. */
  serverUfrag: string
  /** `pwd(serverUfrag)`: the key the request was verified with. */
  serverPwd: string
  /** Second USERNAME half: the dialer's own ufrag. */
  dialerUfrag: string
  /** The dialer's ICE password, which the server needs to check responses and sign its own checks. */
  dialerPwd: string
}

/**
 * Returns the handshake's credentials when `datagram` is a well-formed
 * Binding request whose MESSAGE-INTEGRITY was made with the password derived
 * from `digest`; null for anything else.
 *
 * Classic (`U:U`): the dialer's password is `pwd(U)` too. No-munge
 * (`sU:bU`): the server ufrag is the dialer's password itself (`sU = bP`),
 * so it must also be a valid password (22-256 ice-chars).
 */
export function admitBindingRequest(datagram: Uint8Array, digest: Uint8Array): AdmittedBinding | null {
  // A private copy: the core STUN helpers take `slice()` of their input,
  // which on a Node Buffer is a view, and MESSAGE-INTEGRITY verification
  // rewrites the header length in its "copy". The caller's datagram is
  // re-sent to node-datachannel later and must stay byte-identical.
  const bytes = Uint8Array.from(datagram)
  let message: StunMessage
  try {
    message = parseStunMessage(bytes)
  } catch {
    return null
  }
  if (!isBindingRequest(message)) return null
  // ICE checks always end in FINGERPRINT (RFC 8445 7.1.1); one without a
  // valid one is not a check, and costs no HMAC.
  if (!verifyFingerprint(bytes)) return null
  const username = getUsername(message)
  if (username === null) return null
  // splitIceUsername validates both halves as ICE ufrags.
  const halves = splitIceUsername(username)
  if (halves === null) return null
  const serverUfrag = halves.local
  const dialerUfrag = halves.remote
  const serverPwd = deriveIcePassword(digest, serverUfrag)
  if (!verifyMessageIntegrity(bytes, stunShortTermKey(serverPwd))) return null

  const handshake: IceHandshake = serverUfrag === dialerUfrag ? 'classic' : 'no-munge'
  const dialerPwd = handshake === 'classic' ? serverPwd : serverUfrag
  // Re-checked although derivation and splitting already guarantee most of
  // it: these four strings go to native code that aborts on a bad one.
  if (!isValidIceUfrag(serverUfrag) || !isValidIceUfrag(dialerUfrag)) return null
  if (!isValidIcePwd(serverPwd) || !isValidIcePwd(dialerPwd)) return null
  return { handshake, serverUfrag, serverPwd, dialerUfrag, dialerPwd }
}
