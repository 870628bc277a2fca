/**
 * The shared known-answer vectors, checked inside Chromium against the
 * self-contained browser bundle (libs/webrtc-client/dist/browser.js).
 *
 * The bundle exports dial() and dialWith(), not the certhash or ICE helpers,
 * so the vectors are checked where they matter: in the SDP answer the bundle
 * writes for the server. dialWith() gets a recording RTCPeerConnection (the
 * page's real one, with the two set*Description calls recorded instead of
 * applied), so no packet is sent:
 * - certhash vectors: the answer's DTLS fingerprint for an address carrying
 *   the certhash is the vector's fingerprint;
 * - ICE password vectors: with the no-munge handshake the answer's ufrag is
 *   the offer's password (set to the vector's ufrag) and its password is the
 *   vector's; with the classic handshake the random ufrag's password matches
 *   node:crypto's HMAC;
 * - address vectors: invalid ones fail with the vector's code and message,
 *   valid ones put the vector's host and port in the answer.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { openBrowser, type BrowserSession } from '../browser-harness.js'

interface CerthashVector {
  description: string
  digestHex: string
  certhash: string
  fingerprint: string
}
interface IceVector {
  description: string
  digestHex: string
  ufrag: string
  password: string
}
type AddressVector =
  | { description: string; valid: true; address: string; host: string; port: number; family: 4 | 6; digestHex: string }
  | { description: string; valid: false; address: string; code: string; messageIncludes: string }

/** What the bundle handed the recording peer connection. */
interface Recorded {
  local?: string
  answer?: string
  error?: string
  code?: string
}

function readVectors<T>(name: string): T[] {
  return JSON.parse(readFileSync(new URL(`../../vectors/${name}`, import.meta.url), 'utf8')) as T[]
}

const certhashes = readVectors<CerthashVector>('certhash.json')
const icePasswords = readVectors<IceVector>('ice-password.json')
const addresses = readVectors<AddressVector>('addresses.json')

/** The certhash of a digest, written from the definition ("u" + base64url(0x12 0x20 digest)). */
const certhashOf = (digestHex: string): string => `u${Buffer.from(`1220${digestHex}`, 'hex').toString('base64url')}`
const fingerprintOf = (digestHex: string): string => (digestHex.toUpperCase().match(/../g) ?? []).join(':')
const icePasswordOf = (digestHex: string, ufrag: string): string =>
  createHmac('sha256', Buffer.from(digestHex, 'hex')).update(`kps-ice-pwd-v1:${ufrag}`).digest('base64').replace(/=+$/, '')
const line = (sdp: string | undefined, name: string): string | undefined => new RegExp(`^a=${name}:(.*)$`, 'm').exec(sdp ?? '')?.[1]?.trim()
const ICE_PWD = /^[A-Za-z0-9+/]{22,256}$/

let browser: BrowserSession
before(async () => {
  browser = await openBrowser()
})
after(async () => {
  await browser?.close()
})

/** Runs dialWith(address) in the page on a recording peer connection; `offerPwd` replaces the offer's ICE password. */
function recordDial(address: string, handshake: 'no-munge' | 'classic', offerPwd?: string): Promise<Recorded> {
  return browser.page.evaluate(
    async ({ address, handshake, offerPwd }) => {
      const bundle = (await import(`${location.origin}/browser.js`)) as {
        dialWith: (pc: unknown, address: string, options?: object) => Promise<{ close(): Promise<void> }>
      }
      const recorded: Recorded = {}
      // Called with `new` by dialWith(); returning an object from a constructor makes it the result.
      function Recording(config?: RTCConfiguration): RTCPeerConnection {
        const pc = new RTCPeerConnection(config)
        const createOffer = pc.createOffer.bind(pc)
        pc.createOffer = (async () => {
          const offer = await createOffer()
          const sdp = offer?.sdp ?? ''
          return { type: 'offer', sdp: offerPwd === undefined ? sdp : sdp.replace(/^a=ice-pwd:.*$/gm, `a=ice-pwd:${offerPwd}`) }
        }) as RTCPeerConnection['createOffer']
        pc.setLocalDescription = (async (description?: RTCLocalSessionDescriptionInit) => {
          recorded.local = description?.sdp ?? ''
        }) as RTCPeerConnection['setLocalDescription']
        pc.setRemoteDescription = (async (description: RTCSessionDescriptionInit) => {
          recorded.answer = description.sdp ?? ''
          throw new Error('answer recorded')
        }) as RTCPeerConnection['setRemoteDescription']
        return pc
      }
      try {
        const conn = await bundle.dialWith(Recording, address, { handshake, handshakeTimeout: 5000 })
        await conn.close()
      } catch (error) {
        recorded.error = (error as Error).message
        const code = (error as { code?: string }).code
        if (code !== undefined) recorded.code = code
      }
      return recorded
    },
    { address, handshake, offerPwd },
  )
}

test('certhash vectors: the answer written in Chromium carries the vector fingerprint', { timeout: 60_000 }, async () => {
  for (const vector of certhashes) {
    assert.equal(certhashOf(vector.digestHex), vector.certhash, `${vector.description}: vector is self-consistent`)
    const recorded = await recordDial(`127.0.0.1:4242:${vector.certhash}`, 'no-munge')
    assert.equal(recorded.error, 'answer recorded', vector.description)
    assert.equal(line(recorded.answer, 'fingerprint'), `sha-256 ${vector.fingerprint}`, vector.description)
  }
})

test('ICE password vectors: no-munge answers in Chromium use the vector passwords', { timeout: 60_000 }, async () => {
  // The server's ufrag is the dialer's own password here, so only ufrags that are also valid passwords can be one.
  const usable = icePasswords.filter((vector) => ICE_PWD.test(vector.ufrag))
  assert.ok(usable.length >= 3, `only ${usable.length} ICE vectors have a ufrag that is also a valid password`)
  for (const vector of usable) {
    const recorded = await recordDial(`127.0.0.1:4242:${certhashOf(vector.digestHex)}`, 'no-munge', vector.ufrag)
    assert.equal(recorded.error, 'answer recorded', vector.description)
    assert.equal(line(recorded.local, 'ice-pwd'), vector.ufrag, `${vector.description}: the offer was used as given`)
    assert.equal(line(recorded.answer, 'ice-ufrag'), vector.ufrag, vector.description)
    assert.equal(line(recorded.answer, 'ice-pwd'), vector.password, vector.description)
  }
})

test("ICE passwords from Chromium's own and random ufrags match node:crypto, in both handshakes", { timeout: 60_000 }, async () => {
  for (const vector of certhashes) {
    const address = `127.0.0.1:4242:${vector.certhash}`
    const noMunge = await recordDial(address, 'no-munge')
    const browserPwd = line(noMunge.local, 'ice-pwd') ?? ''
    assert.match(browserPwd, ICE_PWD)
    assert.equal(line(noMunge.answer, 'ice-ufrag'), browserPwd)
    assert.equal(line(noMunge.answer, 'ice-pwd'), icePasswordOf(vector.digestHex, browserPwd))

    const classic = await recordDial(address, 'classic')
    const ufrag = line(classic.local, 'ice-ufrag') ?? ''
    assert.match(ufrag, /^[A-Za-z0-9+/]{12}$/, 'the classic ufrag is 12 random ice-chars')
    assert.equal(line(classic.local, 'ice-pwd'), icePasswordOf(vector.digestHex, ufrag))
    assert.equal(line(classic.answer, 'ice-ufrag'), ufrag)
    assert.equal(line(classic.answer, 'ice-pwd'), icePasswordOf(vector.digestHex, ufrag))
  }
})

test('address vectors: Chromium refuses the invalid ones as Node does and answers for the valid ones', { timeout: 60_000 }, async () => {
  for (const vector of addresses) {
    const recorded = await recordDial(vector.address, 'no-munge')
    if (!vector.valid) {
      assert.equal(recorded.code, vector.code, `${vector.description}: ${recorded.error}`)
      assert.ok(recorded.error?.includes(vector.messageIncludes), `${vector.description}: ${recorded.error}`)
      continue
    }
    assert.equal(recorded.error, 'answer recorded', vector.description)
    const ip = vector.family === 4 ? 'IP4' : 'IP6'
    assert.match(recorded.answer ?? '', new RegExp(`^c=IN ${ip} ${escape(vector.host)}\\r$`, 'm'), vector.description)
    assert.match(recorded.answer ?? '', new RegExp(`^m=application ${vector.port} UDP/DTLS/SCTP webrtc-datachannel\\r$`, 'm'), vector.description)
    assert.match(recorded.answer ?? '', new RegExp(` udp \\d+ ${escape(vector.host)} ${vector.port} typ host\\r$`, 'm'), vector.description)
    assert.equal(line(recorded.answer, 'fingerprint'), `sha-256 ${fingerprintOf(vector.digestHex)}`, vector.description)
  }
})

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
