/**
 * The dialer's offer as the server reconstructs it. There is no signalling:
 * the server learns the dialer's ICE credentials from its first STUN request
 * and writes the rest of the offer itself, so node-datachannel can answer.
 *
 * What is and is not real in it:
 * - ICE ufrag and pwd are the dialer's real ones (validated by the caller);
 * - the only candidate is the loopback relay socket that stands for the
 *   dialer towards node-datachannel's ICE mux, not the dialer's address;
 * - the fingerprint is a placeholder: the server cannot know the dialer's
 *   certificate and runs with fingerprint verification disabled (the dialer
 *   pins the server, not the other way round);
 * - `a=setup:active` makes node-datachannel the DTLS server, as the dialer's
 *   synthesized answer (`a=setup:passive`) expects. With `actpass`
 *   libdatachannel would pick the client role itself and both ends would
 *   wait for the other's ClientHello.
 *
 * Text only; this file does not touch node-datachannel.
 */
import { DEFAULT_MAX_MESSAGE_SIZE, SCTP_PORT, fingerprintFromDigest } from '@keypin/core'

export interface DialerOfferOptions {
  dialerUfrag: string
  dialerPwd: string
  /** The relay socket (IPv4 loopback) that node-datachannel sees as the dialer. */
  relayHost: string
  relayPort: number
  maxMessageSize?: number
}

/** Any well-formed sha-256 fingerprint will do (see the header); all zeros says "not a real one". */
const PLACEHOLDER_FINGERPRINT = fingerprintFromDigest(new Uint8Array(32))

/** Host candidate priority (RFC 8445 5.1.2.1): type preference 126, local preference 65535, component 1. */
const HOST_PRIORITY = 126 * 2 ** 24 + 65535 * 2 ** 8 + (256 - 1)

/** The offer, CRLF line endings. Callers pass validated credentials and an IPv4 relay address. */
export function dialerOffer(options: DialerOfferOptions): string {
  const { dialerUfrag, dialerPwd, relayHost, relayPort, maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE } = options
  return [
    'v=0',
    `o=- 0 0 IN IP4 ${relayHost}`,
    's=-',
    't=0 0',
    'a=group:BUNDLE 0',
    `m=application ${relayPort} UDP/DTLS/SCTP webrtc-datachannel`,
    `c=IN IP4 ${relayHost}`,
    'a=mid:0',
    `a=ice-ufrag:${dialerUfrag}`,
    `a=ice-pwd:${dialerPwd}`,
    `a=fingerprint:sha-256 ${PLACEHOLDER_FINGERPRINT}`,
    'a=setup:active',
    `a=sctp-port:${SCTP_PORT}`,
    `a=max-message-size:${maxMessageSize}`,
    `a=candidate:1 1 udp ${HOST_PRIORITY} ${relayHost} ${relayPort} typ host`,
    'a=end-of-candidates',
    '',
  ].join('\r\n')
}
