/**
 * Address tests: every vector in tests/vectors/addresses.json, round trips
 * through formatAddress, formatAddress's own validation, and the IP literal
 * predicates.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { formatAddress, isIPv4, isIPv6, parseAddress, type ErrorCode } from '@keypin/core'
import { assertKeypinError, readVectors, toHex } from './support.js'

interface ValidAddress {
  description: string
  valid: true
  address: string
  host: string
  port: number
  family: 4 | 6
  certhash: string
  digestHex: string
  /** What formatAddress writes for the parsed parts. */
  formatted: string
}

interface InvalidAddress {
  description: string
  valid: false
  address: string
  code: ErrorCode
  messageIncludes: string
}

const vectors = readVectors<ValidAddress | InvalidAddress>('addresses.json')
const valid = vectors.filter((v): v is ValidAddress => v.valid)
const invalid = vectors.filter((v): v is InvalidAddress => !v.valid)
const certhash = (valid[0] as ValidAddress).certhash

describe('address vectors', () => {
  it('cover enough cases', () => {
    assert.ok(valid.length >= 10, `${valid.length} valid`)
    assert.ok(invalid.length >= 20, `${invalid.length} invalid`)
  })

  for (const vector of valid) {
    it(`parses: ${vector.description}`, () => {
      const parsed = parseAddress(vector.address)
      assert.equal(parsed.host, vector.host)
      assert.equal(parsed.port, vector.port)
      assert.equal(parsed.family, vector.family)
      assert.equal(parsed.certhash, vector.certhash)
      assert.equal(toHex(parsed.digest), vector.digestHex)
      assert.equal(formatAddress(parsed), vector.formatted)
      // Formatting is stable: the formatted address parses back to the same parts.
      const again = parseAddress(vector.formatted)
      assert.equal(formatAddress(again), vector.formatted)
      assert.equal(again.port, vector.port)
      assert.deepEqual(again.digest, parsed.digest)
    })
  }

  for (const vector of invalid) {
    it(`rejects: ${vector.description}`, () => {
      const error = assertKeypinError(() => parseAddress(vector.address), vector.code, vector.messageIncludes)
      if (vector.address !== '') {
        // The message quotes the offending address so logs show what was given.
        assert.ok(error.message.includes(JSON.stringify(vector.address).slice(0, 40)), error.message)
      }
    })
  }
})

describe('parseAddress', () => {
  it('names the port and the address, as in the documented example', () => {
    const address = `1.2.3.4:70000:${certhash}`
    assertKeypinError(() => parseAddress(address), 'invalid-address', `port 70000 is out of range 1-65535 in "${address}"`)
  })

  it('keeps the certhash error as the cause', () => {
    const error = assertKeypinError(() => parseAddress(`1.2.3.4:1:m${certhash.slice(1)}`), 'invalid-certhash')
    assert.equal((error.cause as { code?: string }).code, 'invalid-certhash')
  })

  it('rejects non-strings', () => {
    assertKeypinError(() => parseAddress(undefined as unknown as string), 'invalid-address', 'undefined')
    assertKeypinError(() => parseAddress({} as unknown as string), 'invalid-address', 'object')
  })

  it('shortens very long input in messages', () => {
    const error = assertKeypinError(() => parseAddress('1'.repeat(10_000)), 'invalid-address')
    assert.ok(error.message.length < 400, `message is ${error.message.length} characters`)
  })
})

describe('formatAddress', () => {
  it('round-trips parse(format(x)) for IPv4 and IPv6 hosts', () => {
    const hosts: Array<[string, 4 | 6]> = [
      ['192.0.2.7', 4],
      ['0.0.0.0', 4],
      ['::1', 6],
      ['::', 6],
      ['2001:db8::8:800:200c:417a', 6],
      ['fe80:0:0:0:0:0:0:1', 6],
      ['64:ff9b::192.0.2.33', 6],
    ]
    for (const [host, family] of hosts) {
      for (const port of [1, 443, 4242, 65535]) {
        const text = formatAddress({ host, port, certhash })
        const parsed = parseAddress(text)
        assert.deepEqual([parsed.host, parsed.port, parsed.certhash, parsed.family], [host, port, certhash, family], text)
      }
    }
  })

  it('brackets IPv6 and accepts an already bracketed host', () => {
    assert.equal(formatAddress({ host: '::1', port: 4242, certhash }), `[::1]:4242:${certhash}`)
    assert.equal(formatAddress({ host: '[::1]', port: 4242, certhash }), `[::1]:4242:${certhash}`)
  })

  it('writes IPv4-mapped IPv6 as IPv4', () => {
    for (const host of ['::ffff:127.0.0.1', '::FFFF:127.0.0.1', '::ffff:7f00:1', '0:0:0:0:0:ffff:127.0.0.1', '[::ffff:127.0.0.1]']) {
      assert.equal(formatAddress({ host, port: 9, certhash }), `127.0.0.1:9:${certhash}`, host)
    }
    // Not mapped: IPv4-compatible and NAT64 prefixes stay IPv6.
    assert.equal(formatAddress({ host: '::127.0.0.1', port: 9, certhash }), `[::127.0.0.1]:9:${certhash}`)
    assert.equal(formatAddress({ host: '::fffe:127.0.0.1', port: 9, certhash }), `[::fffe:127.0.0.1]:9:${certhash}`)
  })

  it('rejects bad hosts', () => {
    const cases: Array<[unknown, string]> = [
      ['example.com', 'hostnames are not accepted'],
      ['', 'host is empty'],
      ['[1.2.3.4]', 'must not be in brackets'],
      ['1.2.3.256', 'out of range 0-255'],
      ['fe80::1%eth0', 'zone id'],
      ['1:2:3', '3 groups'],
      ['[::1', 'not hexadecimal'],
      [' 1.2.3.4', 'hostnames are not accepted'],
      [42, 'number 42'],
    ]
    for (const [host, fragment] of cases) {
      assertKeypinError(() => formatAddress({ host: host as string, port: 1, certhash }), 'invalid-address', fragment)
    }
  })

  it('rejects bad ports', () => {
    for (const port of [0, -1, 65536, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '80']) {
      assertKeypinError(() => formatAddress({ host: '::1', port: port as number, certhash }), 'invalid-address', 'port', '1-65535')
    }
  })

  it('rejects bad certhashes', () => {
    assertKeypinError(() => formatAddress({ host: '::1', port: 1, certhash: 'm' + certhash.slice(1) }), 'invalid-certhash', 'prefix "m"')
    assertKeypinError(() => formatAddress({ host: '::1', port: 1, certhash: '' }), 'invalid-certhash', 'empty')
  })

  it('rejects a non-object', () => {
    assertKeypinError(() => formatAddress(null as unknown as { host: string; port: number; certhash: string }), 'invalid-argument', 'null')
  })
})

describe('isIPv4', () => {
  it('accepts dotted quads', () => {
    for (const host of ['0.0.0.0', '127.0.0.1', '255.255.255.255', '10.0.0.10', '1.22.133.244']) {
      assert.equal(isIPv4(host), true, host)
    }
  })

  it('rejects everything else', () => {
    const bad = ['', '1.2.3', '1.2.3.4.5', '1.2.3.256', '01.2.3.4', '1.2.3.00', '1..2.3', '1.2.3.4.', '.1.2.3.4', '1.2.3.-4',
      '1.2.3.+4', '1.2.3.0x4', 'a.b.c.d', ' 1.2.3.4', '1.2.3.4 ', '1.2.3.4\n', '\u0661.2.3.4', '::1', '[1.2.3.4]', 'localhost']
    for (const host of bad) assert.equal(isIPv4(host), false, JSON.stringify(host))
    assert.equal(isIPv4(123 as unknown as string), false)
  })
})

describe('isIPv6', () => {
  it('accepts valid literals', () => {
    const good = ['::', '::1', '1::', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '::2:3:4:5:6:7:8', '1::8', 'FFFF:ffff::', '2001:DB8::1',
      '0000:0000:0000:0000:0000:0000:0000:0001', '::ffff:1.2.3.4', '::1.2.3.4', '1:2:3:4:5:6:1.2.3.4', '1::1.2.3.4', 'fe80::1:2']
    for (const host of good) assert.equal(isIPv6(host), true, host)
  })

  it('rejects invalid literals', () => {
    const bad = ['', ':', ':::', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1:2:3:4::5:6:7:8', '::1::', '1::2::3', ':1::', '1::2:', ':1:2:3:4:5:6:7:8',
      '1:2:3:4:5:6:7:8:', '12345::', 'g::', '1:2:3:4:5:6:7:1.2.3.4', '1.2.3.4::', '::1.2.3.4:5', '::1.2.3', '::1.2.3.256', '::01.2.3.4',
      'fe80::1%eth0', 'fe80::1%1', '[::1]', ' ::1', '::1 ', '1.2.3.4', 'localhost', '::-1', '::+1', '::0x1']
    for (const host of bad) assert.equal(isIPv6(host), false, JSON.stringify(host))
    assert.equal(isIPv6(null as unknown as string), false)
  })
})
