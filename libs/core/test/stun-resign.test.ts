/**
 * resignStunMessage against RFC 5769's sample responses (2.2, 2.3): each
 * carries XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY and FINGERPRINT made with
 * the password below, so rewriting the address away and back must give the
 * published bytes exactly.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  buildBindingRequest,
  parseStunMessage,
  resignStunMessage,
  stunShortTermKey,
  verifyFingerprint,
  verifyMessageIntegrity,
  STUN_ATTRIBUTES,
} from '@keypin/core'
import { assertKeypinError, fromHex, toHex } from './support.js'

const PASSWORD = 'VOkJxbRl1RmTxUk/WvJxBt'

const IPV4_RESPONSE = fromHex(
  '0101003c2112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220' +
    '002000080001a147e112a643000800142b91f599fd9e90c38c7489f92af9ba53f06be7d780280004c07d4c96',
)
const IPV6_RESPONSE = fromHex(
  '010100482112a442b7e7a701bc34d686fa87dfae8022000b7465737420766563746f7220' +
    '002000140002a1470113a9faa5d3f179bc25f4b5bed2b9d900080014a382954e4be67bf11784c97c8292c275bfe3ed4180280004c8fb0b4c',
)

describe('resignStunMessage', () => {
  const key = stunShortTermKey(PASSWORD)

  it('reads the RFC 5769 samples as valid (the vectors are what the RFC says)', () => {
    for (const sample of [IPV4_RESPONSE, IPV6_RESPONSE]) {
      assert.equal(verifyMessageIntegrity(sample, key), true)
      assert.equal(verifyFingerprint(sample), true)
    }
  })

  it('rewrites the IPv4 mapped address and back to the published bytes', () => {
    const elsewhere = resignStunMessage(IPV4_RESPONSE, { key, xorMappedAddress: { host: '127.0.0.1', port: 50_000 } })
    assert.notEqual(toHex(elsewhere), toHex(IPV4_RESPONSE))
    assert.equal(verifyMessageIntegrity(elsewhere, key), true)
    assert.equal(verifyFingerprint(elsewhere), true)
    const back = resignStunMessage(elsewhere, { key, xorMappedAddress: { host: '192.0.2.1', port: 32853 } })
    assert.equal(toHex(back), toHex(IPV4_RESPONSE))
  })

  it('rewrites the IPv6 mapped address (XORed with the transaction id) and back', () => {
    const elsewhere = resignStunMessage(IPV6_RESPONSE, { key, xorMappedAddress: { host: '::1', port: 9 } })
    assert.equal(verifyMessageIntegrity(elsewhere, key), true)
    const back = resignStunMessage(elsewhere, { key, xorMappedAddress: { host: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 } })
    assert.equal(toHex(back), toHex(IPV6_RESPONSE))
  })

  it('re-keys a request: the new password verifies, the old one no longer does', () => {
    const request = buildBindingRequest({ username: 'abcd:efgh', password: 'old-password-0123456789' })
    const moved = resignStunMessage(request, { key: stunShortTermKey('new-password-0123456789') })
    assert.equal(verifyMessageIntegrity(moved, stunShortTermKey('new-password-0123456789')), true)
    assert.equal(verifyMessageIntegrity(moved, stunShortTermKey('old-password-0123456789')), false)
    assert.equal(verifyFingerprint(moved), true)
    const types = parseStunMessage(moved).attributes.map((a) => a.type)
    assert.deepEqual(types.slice(-2), [STUN_ATTRIBUTES.messageIntegrity, STUN_ATTRIBUTES.fingerprint])
    assert.equal(types.length, parseStunMessage(request).attributes.length)
  })

  it('throws invalid-argument for malformed messages and addresses', () => {
    assertKeypinError(() => resignStunMessage(IPV4_RESPONSE.subarray(0, 30), { key }), 'invalid-argument', 'not a STUN message')
    assertKeypinError(() => resignStunMessage(IPV4_RESPONSE, { key, xorMappedAddress: { host: 'example.com', port: 1 } }), 'invalid-argument', 'example.com')
    assertKeypinError(() => resignStunMessage(IPV4_RESPONSE, { key, xorMappedAddress: { host: '1.2.3.4', port: 70_000 } }), 'invalid-argument', 'port')
  })
})
