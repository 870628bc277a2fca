/**
 * Builds quiche configurations. Server and client differ only in TLS: the
 * server presents the identity certificate; the client accepts any
 * certificate at the TLS layer and pins its hash itself once the handshake
 * completes (there is no CA to verify against).
 */
import { quiche, type QuicheConfig } from './binding.js'
import type { ResolvedQuicOptions } from './options.js'

/** ALPN "h3": non-identifying on the wire. */
export const ALPN = 'h3'

function applyTransportParameters(config: QuicheConfig, options: ResolvedQuicOptions): QuicheConfig {
  config.setApplicationProtos([ALPN])
  config.setMaxIdleTimeout(options.idleTimeout)
  config.setMaxRecvUdpPayloadSize(65_527)
  config.setMaxSendUdpPayloadSize(options.maxUdpPayloadSize)
  config.setInitialMaxData(options.maxData)
  config.setInitialMaxStreamDataBidiLocal(options.maxStreamData)
  config.setInitialMaxStreamDataBidiRemote(options.maxStreamData)
  config.setInitialMaxStreamDataUni(0)
  config.setInitialMaxStreamsBidi(options.maxStreams)
  config.setInitialMaxStreamsUni(0)
  config.setDisableActiveMigration(true)
  // Receive queue bounded by the application-facing queue; send queue sized for bursts.
  config.enableDgram(true, options.datagramQueueLength, 1024)
  // Let the auto-tuned windows grow well past the initial ones on fast paths.
  config.setMaxStreamWindow(Math.max(options.maxStreamData, 16 * 1024 * 1024))
  config.setMaxConnectionWindow(Math.max(options.maxData, 24 * 1024 * 1024))
  return config
}

export function serverConfig(certificatePem: string, privateKeyPem: string, options: ResolvedQuicOptions): QuicheConfig {
  const encoder = new TextEncoder()
  const config = quiche.Config.withBoringSslCtx(false, false, null, [encoder.encode(privateKeyPem)], [encoder.encode(certificatePem)], null)
  return applyTransportParameters(config, options)
}

export function clientConfig(options: ResolvedQuicOptions): QuicheConfig {
  // verifyPeer + allowFail: BoringSSL keeps the peer chain for us but does not
  // judge it; the pin check happens in the driver before any stream exists.
  const config = quiche.Config.withBoringSslCtx(true, true, null, null, null, null)
  return applyTransportParameters(config, options)
}
