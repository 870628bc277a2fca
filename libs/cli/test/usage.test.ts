/**
 * Help and usage errors: `--help` everywhere prints to stdout and exits 0;
 * anything the parser does not know is a usage error on stderr, exit 2.
 */
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { test } from 'node:test'
import { run } from './support.js'

test('--help on the command and on every subcommand', async (t) => {
  const cases: [string[], RegExp][] = [
    [['--help'], /^usage: keypin <command>/],
    [['-h'], /^usage: keypin <command>/],
    [['help'], /^usage: keypin <command>/],
    [['help', 'dial'], /^usage: keypin dial ADDRESS/],
    [['serve', '--help'], /^usage: keypin serve /],
    [['dial', '--help'], /^usage: keypin dial ADDRESS/],
    [['dial', '-h'], /^usage: keypin dial ADDRESS/],
    [['chat', '--help'], /^usage: keypin chat ADDRESS/],
    [['help', 'chat'], /^usage: keypin chat ADDRESS/],
  ]
  for (const [args, expected] of cases) {
    const finished = await run(t, args)
    assert.equal(finished.code, 0, `${args.join(' ')}: ${finished.stderr}`)
    assert.match(finished.stdout.toString(), expected, args.join(' '))
    assert.equal(finished.stderr, '', args.join(' '))
  }
})

test('--version prints the package version', async (t) => {
  const { version } = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string
  }
  const finished = await run(t, ['--version'])
  assert.equal(finished.code, 0)
  assert.equal(finished.stdout.toString(), `${version}\n`)
})

test('usage errors go to stderr with exit 2', async (t) => {
  const cases: [string[], RegExp][] = [
    [[], /^usage: keypin <command>/],
    [['frobnicate'], /^keypin: unknown command 'frobnicate'\nRun 'keypin --help' for usage\.\n$/],
    [['--frobnicate'], /^keypin: unknown option '--frobnicate'\n/],
    [['serve', '--frobnicate'], /^keypin serve: Unknown option '--frobnicate'\.\nRun 'keypin serve --help' for usage\.\n$/],
    [['serve', '--port'], /^keypin serve: Option '--port <value>' argument missing/],
    [['serve', '--port', '65536'], /^keypin serve: --port must be a port number from 0 to 65535, got "65536"\n/],
    [['serve', '--host', 'localhost'], /^keypin serve: --host must be an IP address/],
    [['serve', '--echo', '--relay'], /^keypin serve: --echo and --relay cannot be combined\n/],
    [['serve', '--echo', '--db', 'x.db'], /^keypin serve: --db applies to --relay only\n/],
    [['serve', 'extra'], /^keypin serve: unexpected argument "extra"\n/],
    [['dial'], /^keypin dial: missing ADDRESS\n/],
    [['dial', 'a', 'b'], /^keypin dial: unexpected argument "b"\n/],
    [['dial', '--transport', 'tcp', 'x'], /^keypin dial: --transport must be one of quic, webrtc, got "tcp"\n/],
    [['dial', '--timeout', '0', 'x'], /^keypin dial: --timeout must be a whole number from 1 to 600000, got "0"\n/],
    [['dial', '--timeout', '600001', 'x'], /^keypin dial: --timeout must be a whole number from 1 to 600000/],
    [['dial', '--echo', 'x'], /^keypin dial: Unknown option '--echo'\./],
    [['serve', '--relay', '--http', 'localhost:9090'], /^keypin serve: --http must name an IP address, got "localhost:9090"\n/],
    [['serve', '--relay', '--http', '127.0.0.1'], /^keypin serve: --http must be HOST:PORT/],
    [['serve', '--relay', '--db', ''], /^keypin serve: --db must not be empty\n/],
    [['chat'], /^keypin chat: missing ADDRESS\n/],
    [['chat', '--frobnicate', 'x'], /^keypin chat: Unknown option '--frobnicate'\./],
    [['chat', '--timeout', 'soon', 'x'], /^keypin chat: --timeout must be a whole number from 1 to 600000, got "soon"\n/],
  ]
  for (const [args, expected] of cases) {
    const finished = await run(t, args)
    assert.equal(finished.code, 2, `${args.join(' ')}: exit ${finished.code}, stderr ${finished.stderr}`)
    assert.match(finished.stderr, expected, args.join(' '))
    assert.equal(finished.stdout.length, 0, args.join(' '))
  }
})
