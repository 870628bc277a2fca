/**
 * What one listener's WebRTC sessions share: the loaded node-datachannel
 * module, the loopback ICE mux, and the DTLS identity as files. Started on
 * the first authenticated handshake (so unauthenticated traffic never costs
 * native resources), stopped by the listener's close after its sessions.
 *
 * This file knows nothing about individual peers beyond the configuration
 * every server-side PeerConnection gets.
 */
import { DEFAULT_MAX_MESSAGE_SIZE } from '@keypin/core'
import type { RtcConfig } from 'node-datachannel'
import type { Identity } from '../identity.js'
import { writeCertificateFiles, type CertificateFiles } from './certificate-files.js'
import { LOOPBACK, openIceMux, type IceMux } from './ice-mux.js'
import { acquireNative, loadNodeDataChannel, releaseNative, type NodeDataChannel } from './native.js'

export class WebRtcRuntime {
  readonly native: NodeDataChannel
  readonly mux: IceMux
  readonly #certificate: CertificateFiles
  #stopped = false

  private constructor(native: NodeDataChannel, mux: IceMux, certificate: CertificateFiles) {
    this.native = native
    this.mux = mux
    this.#certificate = certificate
  }

  static async start(identity: Identity): Promise<WebRtcRuntime> {
    const native = await loadNodeDataChannel()
    const certificate = await writeCertificateFiles(identity)
    acquireNative()
    try {
      const mux = await openIceMux(native)
      return new WebRtcRuntime(native, mux, certificate)
    } catch (error) {
      releaseNative(native)
      await certificate.remove()
      throw error
    }
  }

  /** Configuration for one server-side PeerConnection. */
  peerConfig(): RtcConfig {
    return {
      iceServers: [],
      // Join the loopback mux rather than binding a socket per peer.
      enableIceUdpMux: true,
      portRangeBegin: this.mux.port,
      portRangeEnd: this.mux.port,
      bindAddress: LOOPBACK,
      // The session sets the remote offer and then the answer with the
      // server's ICE credentials itself; left automatic, node-datachannel
      // answers on its own first, and the explicit answer then finds the
      // signalling state "stable" and aborts the process.
      disableAutoNegotiation: true,
      // The server cannot know the dialer's certificate; the dialer pins ours.
      disableFingerprintVerification: true,
      certificatePemFile: this.#certificate.certificateFile,
      keyPemFile: this.#certificate.keyFile,
      maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE,
    }
  }

  /**
   * Stops the mux, deletes the key files and releases node-datachannel.
   * Call only after every peer connection of this runtime reported closed.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    this.mux.stop()
    await this.#certificate.remove()
    releaseNative(this.native)
  }
}
