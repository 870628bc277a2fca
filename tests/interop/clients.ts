/**
 * The client kinds of the interop matrix, each able to run any shared
 * scenario (tests/scenarios.ts) against an address:
 * - Chromium over WebRTC with the classic handshake (the dialer rewrites its
 *   offer's ICE credentials, as every KPS client does);
 * - Chromium launched with the WebRTC-NoSdpMangleUfrag field trial, which
 *   forbids that rewrite, dialing with the default handshake;
 * - Node over WebRTC (node-datachannel, @keypin/webrtc-client's node build);
 * - Node over QUIC (@keypin/quic-client).
 */
import { dial as dialQuic } from '@keypin/quic-client'
import { dial as dialWebRtc } from '@keypin/webrtc-client'
import { chromiumVersion, openBrowser, runScenarioInPage, type BrowserSession } from '../browser-harness.js'
import { runScenario, type ScenarioDial, type ScenarioName, type ScenarioOptions, type ScenarioResult } from '../scenarios.js'

export const NO_SDP_MANGLE_TRIAL = '--force-fieldtrials=WebRTC-NoSdpMangleUfrag/Enabled/'

export interface ClientKind {
  id: string
  label: string
  /** What the server sees: Connection.transport. */
  transport: 'webrtc' | 'quic'
  /** The KeypinError code a dial to a wrong certhash ends with on this kind. */
  wrongPinCode: 'pin-mismatch' | 'timeout'
  /** Set when the kind could not be prepared; every cell of its row then fails with it. */
  setupError?: string
  /** One line on how the kind was set up, for the report. */
  note: string
  run(name: ScenarioName, address: string, options: ScenarioOptions): Promise<ScenarioResult>
  /** After a cell timed out: drop whatever it left running. */
  recover(): Promise<void>
  close(): Promise<void>
}

/** Prepares every kind (the two browsers launch in parallel). */
export async function openClientKinds(): Promise<ClientKind[]> {
  const [classic, strict] = await Promise.all([
    chromiumKind('chromium-classic', 'Chromium · WebRTC · classic handshake', [], 'classic'),
    chromiumKind('chromium-no-munge', 'Chromium · WebRTC · NoSdpMangleUfrag trial, default handshake', [NO_SDP_MANGLE_TRIAL], undefined),
  ])
  return [classic, strict, nodeKind('node-webrtc', 'Node · WebRTC (node-datachannel)', 'webrtc', dialWebRtc), nodeKind('node-quic', 'Node · QUIC', 'quic', dialQuic)]
}

function nodeKind(id: string, label: string, transport: 'webrtc' | 'quic', dial: ScenarioDial): ClientKind {
  return {
    id,
    label,
    transport,
    wrongPinCode: transport === 'quic' ? 'pin-mismatch' : 'timeout',
    note: `${process.version} in the listener's process`,
    run: (name, address, options) => runScenario(name, dial, address, options),
    recover: async () => {},
    close: async () => {},
  }
}

async function chromiumKind(id: string, label: string, flags: string[], handshake: 'classic' | undefined): Promise<ClientKind> {
  let session: BrowserSession | undefined
  let setupError: string | undefined
  let note = ''
  try {
    session = await openBrowser(flags)
    const munging = await mungingAllowed(session)
    note = `${await chromiumVersion()}; ${flags.length ? flags.join(' ') : 'no field trial'}; rewriting a local ufrag is ${munging ? 'allowed' : 'refused'}`
    // The trial row means something only if the browser really refuses the rewrite.
    if (flags.includes(NO_SDP_MANGLE_TRIAL) && munging) setupError = 'the NoSdpMangleUfrag field trial had no effect: Chromium still accepts a rewritten ufrag'
  } catch (error) {
    setupError = `Chromium did not start: ${((error as Error).message ?? String(error)).split('\n')[0]}`
  }
  return {
    id,
    label,
    transport: 'webrtc',
    wrongPinCode: 'timeout',
    note,
    ...(setupError === undefined ? {} : { setupError }),
    run: (name, address, options) => {
      if (!session) return Promise.resolve({ ok: false, detail: 'no browser' })
      return runScenarioInPage(session, name, address, handshake === undefined ? options : { ...options, handshake })
    },
    recover: async () => {
      await session?.reload().catch(() => {})
    },
    close: async () => {
      await session?.close()
    },
  }
}

/** Whether the page may set a local offer whose ICE ufrag and password were rewritten. */
function mungingAllowed(session: BrowserSession): Promise<boolean> {
  return session.page.evaluate(async () => {
    const pc = new RTCPeerConnection()
    try {
      pc.createDataChannel('probe')
      const offer = await pc.createOffer()
      const sdp = (offer.sdp ?? '')
        .replace(/^a=ice-ufrag:.*$/gm, 'a=ice-ufrag:probeUfrag')
        .replace(/^a=ice-pwd:.*$/gm, 'a=ice-pwd:probePasswordOf24Chars00')
      await pc.setLocalDescription({ type: 'offer', sdp })
      return true
    } catch {
      return false
    } finally {
      pc.close()
    }
  })
}
