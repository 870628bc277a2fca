/**
 * The server's own parsers against the shared known-answer vectors in
 * tests/vectors: the STUN guard (which decides, before any state exists,
 * whether a first Binding request may start a WebRTC handshake) with
 * stun.json and ice-password.json, and the one-port demultiplexer with
 * demux.json. The vectors were written from the wire documents, not from
 * this code.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { buildBindingRequest, isValidIcePwd, isValidIceUfrag } from '@keypin/core'
import { classifyDatagram, isStunMessage } from '@keypin/server'
// The guard is internal to the server; its build is what the listener runs.
import { admitBindingRequest, type AdmittedBinding } from '../dist/webrtc/stun-guard.js'

/** tests/vectors/<name>, relative to this file's build in libs/server/dist-test/. */
function readVectors<T>(name: string): T[] {
  const parsed: unknown = JSON.parse(readFileSync(new URL(`../../../tests/vectors/${name}`, import.meta.url), 'utf8'))
  assert.ok(Array.isArray(parsed) && parsed.length > 0, `${name} must hold a non-empty JSON array`)
  return parsed as T[]
}

const bytes = (hex: string): Buffer => Buffer.from(hex, 'hex')

interface StunVector {
  description: string
  hex: string
  digestHex?: string
  messageIntegrityValid?: boolean
  fingerprintValid?: boolean
  error?: string
  /** What the guard must return: null (no answer, no state) or the admitted credentials. Absent when the protocol leaves it open. */
  guard?: AdmittedBinding | null
}

interface IceVector {
  description: string
  digestHex: string
  ufrag: string
  password: string
}

interface DemuxVector {
  description: string
  hex: string
  fromWebRtcPeer: boolean
  stun: boolean
  kind: 'webrtc' | 'quic'
}

const stun = readVectors<StunVector>('stun.json')
const ice = readVectors<IceVector>('ice-password.json')
const demux = readVectors<DemuxVector>('demux.json')
const pinned = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
const otherDigest = bytes('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')

describe('STUN guard: request vectors', () => {
  for (const vector of stun.filter((v) => v.error === undefined && v.guard !== undefined)) {
    it(vector.description, () => {
      const datagram = bytes(vector.hex)
      const admitted = admitBindingRequest(datagram, bytes(vector.digestHex ?? pinned))
      assert.deepEqual(admitted, vector.guard)
      // The datagram is handed on to the WebRTC stack afterwards: the guard must not touch it.
      assert.equal(datagram.toString('hex'), vector.hex)
      // The same request under another certhash is never admitted.
      assert.equal(admitBindingRequest(datagram, otherDigest), null)
    })
  }

  it('cover both handshakes and refusals', () => {
    const outcomes: string[] = stun.filter((v) => v.guard !== undefined).map((v) => v.guard?.handshake ?? 'refused')
    for (const outcome of ['classic', 'no-munge', 'refused']) assert.ok(outcomes.includes(outcome), outcome)
  })

  it('leave the outcome open only for requests whose integrity holds but whose FINGERPRINT does not', () => {
    // The protocol's admission steps check USERNAME and MESSAGE-INTEGRITY,
    // not FINGERPRINT; these vectors carry no expectation until it says.
    for (const vector of stun.filter((v) => v.error === undefined && v.guard === undefined)) {
      assert.equal(vector.messageIntegrityValid, true, vector.description)
      assert.equal(vector.fingerprintValid, false, vector.description)
    }
  })
})

describe('STUN guard: malformed vectors', () => {
  for (const vector of stun.filter((v) => v.error !== undefined)) {
    it(vector.description, () => {
      assert.equal(admitBindingRequest(bytes(vector.hex), bytes(pinned)), null)
    })
  }
})

describe('STUN guard: ICE password vectors', () => {
  for (const vector of ice) {
    const digest = bytes(vector.digestHex)
    it(`classic: ${vector.description}`, () => {
      const request = buildBindingRequest({ username: `${vector.ufrag}:${vector.ufrag}`, password: vector.password })
      assert.deepEqual(admitBindingRequest(request, digest), {
        handshake: 'classic',
        serverUfrag: vector.ufrag,
        serverPwd: vector.password,
        dialerUfrag: vector.ufrag,
        dialerPwd: vector.password,
      })
      assert.equal(admitBindingRequest(request, otherDigest.equals(digest) ? bytes(pinned) : otherDigest), null)
    })

    // In the no-munge handshake the server's ufrag is the dialer's ICE
    // password, so only ufrags that are also valid passwords can be one.
    it(`no-munge: ${vector.description}`, () => {
      const request = buildBindingRequest({ username: `${vector.ufrag}:dlr4`, password: vector.password })
      const expected = isValidIcePwd(vector.ufrag)
        ? { handshake: 'no-munge', serverUfrag: vector.ufrag, serverPwd: vector.password, dialerUfrag: 'dlr4', dialerPwd: vector.ufrag }
        : null
      assert.equal(isValidIceUfrag(vector.ufrag), true)
      assert.deepEqual(admitBindingRequest(request, digest), expected)
    })
  }

  it('include server ufrags usable by both handshakes', () => {
    assert.ok(ice.some((v) => isValidIcePwd(v.ufrag)) && ice.some((v) => !isValidIcePwd(v.ufrag)))
  })
})

describe('demultiplexer vectors', () => {
  for (const vector of demux) {
    it(vector.description, () => {
      const datagram = bytes(vector.hex)
      assert.equal(isStunMessage(datagram), vector.stun)
      assert.equal(classifyDatagram(datagram, vector.fromWebRtcPeer), vector.kind)
    })
  }

  it('cover every branch of the classification', () => {
    const seen = new Set(demux.map((v) => `${v.fromWebRtcPeer ? 'known' : 'unknown'} source, ${v.stun ? 'STUN' : 'not STUN'} -> ${v.kind}`))
    assert.deepEqual([...seen].sort(), [
      'known source, STUN -> webrtc',
      'known source, not STUN -> webrtc',
      'unknown source, STUN -> webrtc',
      'unknown source, not STUN -> quic',
    ])
  })
})

describe('STUN vectors through the demultiplexer', () => {
  it('every well-formed request vector is classified as STUN from an unknown source', () => {
    for (const vector of stun.filter((v) => v.error === undefined)) {
      assert.equal(classifyDatagram(bytes(vector.hex), false), 'webrtc', vector.description)
    }
  })
})
