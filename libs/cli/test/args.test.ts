/**
 * The value parsers every subcommand shares, checked directly: what they
 * accept, and that everything else is a UsageError naming the flag.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { parseHostPort, parsePort, parsePositiveInteger, parseTimeout } from '../dist/args.js'
import { UsageError } from '../dist/errors.js'

test('parseHostPort takes IPv4 and bracketed IPv6 with a port', () => {
  assert.deepEqual(parseHostPort('serve', '--http', '127.0.0.1:9090'), { host: '127.0.0.1', port: 9090 })
  assert.deepEqual(parseHostPort('serve', '--http', '[::1]:0'), { host: '::1', port: 0 })
  for (const bad of ['127.0.0.1', '::1:9090', '[127.0.0.1]:80', 'localhost:80', '1.2.3.4:x', '1.2.3.4:65536', '[::1]', '']) {
    assert.throws(() => parseHostPort('serve', '--http', bad), (error: unknown) => {
      assert.ok(error instanceof UsageError, bad)
      assert.match(error.message, /^--http must /, bad)
      return true
    })
  }
})

test('parsePort and parsePositiveInteger reject what is not a plain number in range', () => {
  assert.equal(parsePort('serve', '--port', '0'), 0)
  assert.equal(parsePort('serve', '--port', '65535'), 65535)
  for (const bad of ['-1', '65536', '1e3', ' 80', '0x50', '']) {
    assert.throws(() => parsePort('serve', '--port', bad), UsageError, bad)
  }
  assert.equal(parsePositiveInteger('dial', '--timeout', '250'), 250)
  for (const bad of ['0', '-5', '1.5', '99999999999999999999', 'ten']) {
    assert.throws(() => parsePositiveInteger('dial', '--timeout', bad), UsageError, bad)
  }
  // Timers take at most 2^31-1 ms and the transports' handshakes 600 s.
  assert.equal(parseTimeout('dial', '600000'), 600_000)
  assert.throws(() => parseTimeout('dial', '600001'), /--timeout must be a whole number from 1 to 600000/)
  assert.throws(() => parseTimeout('dial', '4294967296'), UsageError)
})
