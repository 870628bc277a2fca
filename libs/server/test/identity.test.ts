/**
 * Tests for the server identity: what a generated certificate looks like to
 * an independent parser (node:crypto), PEM round trips, and how
 * loadOrCreateIdentity treats new, existing, racing and damaged files.
 *
 * Everything touches real files in a private temporary directory. These tests
 * do not start a server or a TLS handshake.
 */
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { X509Certificate, createPrivateKey, generateKeyPairSync } from 'node:crypto'
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { KeypinError, certhashOfCertificate, fingerprintFromDigest, sha256 } from '@keypin/core'
import { generateIdentity, identityFromPem, identityToPem, loadOrCreateIdentity, type Identity } from '@keypin/server'

const DAY_MS = 24 * 60 * 60 * 1000
const POSIX = process.platform !== 'win32'

let root = ''
let counter = 0

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'keypin-identity-'))
})

after(async () => {
  await rm(root, { recursive: true, force: true })
})

/** A fresh, empty directory per test, so listings show exactly what a test left behind. */
async function freshDir(): Promise<string> {
  const dir = join(root, `case-${++counter}`)
  await mkdir(dir)
  return dir
}

/** Asserts `action` rejects with a KeypinError of `code` whose message contains every fragment. */
async function rejectsWith(action: Promise<unknown>, code: string, ...fragments: string[]): Promise<KeypinError> {
  let caught: unknown
  await assert.rejects(action, (error: unknown) => {
    caught = error
    return true
  })
  assert.ok(caught instanceof KeypinError, `expected a KeypinError, got ${String(caught)}`)
  assert.equal(caught.code, code, caught.message)
  for (const fragment of fragments) {
    const shown = `message ${JSON.stringify(caught.message)} lacks ${JSON.stringify(fragment)}`
    assert.ok(caught.message.includes(fragment), shown)
  }
  return caught
}

function assertSameIdentity(actual: Identity, expected: Identity): void {
  assert.equal(actual.certhash, expected.certhash)
  assert.equal(actual.fingerprint, expected.fingerprint)
  assert.deepEqual(actual.certificateDer, expected.certificateDer)
  assert.deepEqual(actual.digest, expected.digest)
  assert.equal(actual.certificatePem, expected.certificatePem)
  assert.equal(actual.privateKeyPem, expected.privateKeyPem)
}

describe('generateIdentity', () => {
  test('derives certhash, digest and fingerprint from the certificate DER', async () => {
    const identity = await generateIdentity()
    assert.equal(identity.certhash, certhashOfCertificate(identity.certificateDer))
    assert.deepEqual(identity.digest, sha256(identity.certificateDer))
    assert.equal(identity.fingerprint, fingerprintFromDigest(identity.digest))
    assert.match(identity.certhash, /^uEi/)
    assert.match(identity.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
  })

  test('is a self-signed, anonymous ECDSA P-256 certificate to node:crypto', async () => {
    const identity = await generateIdentity()
    const cert = new X509Certificate(identity.certificateDer)
    assert.equal(cert.publicKey.asymmetricKeyType, 'ec')
    assert.equal(cert.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1')
    assert.ok(cert.checkIssued(cert), 'issuer equals subject')
    assert.ok(cert.verify(cert.publicKey), 'signed by its own key')
    assert.equal(cert.subject ?? '', '')
    assert.equal(cert.issuer ?? '', '')
    assert.equal(cert.subjectAltName, undefined)
    assert.equal(cert.infoAccess, undefined)
    assert.equal(cert.ca, false)
    // The PEM and the DER describe the same certificate.
    assert.deepEqual(new X509Certificate(identity.certificatePem).raw, cert.raw)
  })

  test('is valid from a day ago for ten years', async () => {
    const now = Date.now()
    const cert = new X509Certificate((await generateIdentity()).certificateDer)
    const notBefore = Date.parse(cert.validFrom)
    const notAfter = Date.parse(cert.validTo)
    // Certificate times have one-second resolution; allow for that and test runtime.
    assert.ok(Math.abs(notBefore - (now - DAY_MS)) < 60_000, cert.validFrom)
    assert.ok(Math.abs(notAfter - (now + 10 * 365 * DAY_MS)) < 60_000, cert.validTo)
  })

  test('uses a random positive serial number of at most 16 bytes', async () => {
    const serials = await Promise.all([generateIdentity(), generateIdentity()]).then((ids) =>
      ids.map((id) => new X509Certificate(id.certificateDer).serialNumber),
    )
    assert.notEqual(serials[0], serials[1])
    for (const serial of serials) {
      assert.ok(serial.length <= 32, serial)
      // Node prints the minimal two's-complement bytes, so a cleared top bit shows as a first digit below 8.
      assert.ok(Number.parseInt(serial.slice(0, 1), 16) < 8, serial)
    }
  })

  test('exports the key as PKCS#8 PEM matching the certificate', async () => {
    const identity = await generateIdentity()
    assert.match(identity.privateKeyPem, /^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n$/)
    assert.match(identity.certificatePem, /^-----BEGIN CERTIFICATE-----\n[\s\S]+\n-----END CERTIFICATE-----\n$/)
    const key = createPrivateKey(identity.privateKeyPem)
    assert.equal(key.asymmetricKeyType, 'ec')
    const cert = new X509Certificate(identity.certificateDer)
    assert.ok(cert.checkPrivateKey(key))
  })
})

describe('identityToPem / identityFromPem', () => {
  test('round trips', async () => {
    const identity = await generateIdentity()
    const pem = identityToPem(identity)
    assert.equal(pem, identity.privateKeyPem + identity.certificatePem)
    assert.ok(pem.endsWith('\n'))
    assertSameIdentity(await identityFromPem(pem), identity)
  })

  test('accepts the certificate before the key, CRLF line ends and surrounding text', async () => {
    const identity = await generateIdentity()
    const reordered = `comment\n${identity.certificatePem}\n${identity.privateKeyPem}`
    assertSameIdentity(await identityFromPem(reordered), identity)
    assertSameIdentity(await identityFromPem(identityToPem(identity).replace(/\n/g, '\r\n')), identity)
  })

  test('rejects a key on another curve', async () => {
    const identity = await generateIdentity()
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey
    const pem = p384.export({ type: 'pkcs8', format: 'pem' }).toString() + identity.certificatePem
    await rejectsWith(identityFromPem(pem), 'identity-error', 'secp384r1', 'P-256')
  })

  test('rejects a certificate for a key other than P-256', async () => {
    const algorithm = { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' }
    const keys = await globalThis.crypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])
    const cert = await x509.X509CertificateGenerator.createSelfSigned(
      { name: '', keys, signingAlgorithm: algorithm },
      globalThis.crypto,
    )
    const pkcs8 = await globalThis.crypto.subtle.exportKey('pkcs8', keys.privateKey)
    const pem = `${x509.PemConverter.encode(pkcs8, 'PRIVATE KEY')}\n${cert.toString('pem')}\n`
    await rejectsWith(identityFromPem(pem), 'identity-error', 'certificate', 'P-384')
  })

  test('rejects a SEC1 key, naming PKCS#8', async () => {
    const identity = await generateIdentity()
    const sec1 = createPrivateKey(identity.privateKeyPem).export({ type: 'sec1', format: 'pem' }).toString()
    await rejectsWith(identityFromPem(sec1 + identity.certificatePem), 'identity-error', 'EC PRIVATE KEY', 'PKCS#8')
  })

  test('rejects two certificates', async () => {
    const identity = await generateIdentity()
    const pem = identityToPem(identity) + identity.certificatePem
    await rejectsWith(identityFromPem(pem), 'identity-error', '2 certificates')
  })

  test('rejects bytes after the certificate DER', async () => {
    const identity = await generateIdentity()
    const padded = new Uint8Array([...identity.certificateDer, 0, 0])
    const pem = identity.privateKeyPem + pemOf(padded)
    await rejectsWith(identityFromPem(pem), 'identity-error', 'stray bytes')
  })

  test('rejects a non-string with invalid-argument', async () => {
    await rejectsWith(identityFromPem(42 as unknown as string), 'invalid-argument')
  })
})

describe('loadOrCreateIdentity', () => {
  test('creates a private file, then loads it unchanged', async () => {
    const dir = await freshDir()
    const file = join(dir, 'nested', 'deeper', 'identity.pem')
    const created = await loadOrCreateIdentity(file)
    const written = await readFile(file)
    assert.equal(written.toString('utf8'), identityToPem(created))
    if (POSIX) {
      assert.equal((await stat(file)).mode & 0o777, 0o600)
      assert.equal((await stat(join(dir, 'nested'))).mode & 0o777, 0o700)
      assert.equal((await stat(join(dir, 'nested', 'deeper'))).mode & 0o777, 0o700)
    }
    assert.deepEqual(await readdir(join(dir, 'nested', 'deeper')), ['identity.pem'])

    const before = await stat(file)
    const loaded = await loadOrCreateIdentity(file)
    assertSameIdentity(loaded, created)
    assert.deepEqual(await readFile(file), written)
    assert.equal((await stat(file)).mtimeMs, before.mtimeMs)
  })

  test('loads a file written by someone else as it is', async () => {
    const dir = await freshDir()
    const file = join(dir, 'identity.pem')
    const identity = await generateIdentity()
    const text = `# made by hand\n${identity.certificatePem}${identity.privateKeyPem}`
    await writeFile(file, text)
    assertSameIdentity(await loadOrCreateIdentity(file), identity)
    assert.equal(await readFile(file, 'utf8'), text)
  })

  test('concurrent creators agree on one identity', async () => {
    const dir = await freshDir()
    const file = join(dir, 'identity.pem')
    const identities = await Promise.all(Array.from({ length: 4 }, () => loadOrCreateIdentity(file)))
    const onDisk = await identityFromPem(await readFile(file, 'utf8'))
    for (const identity of identities) assert.equal(identity.certhash, onDisk.certhash)
    // Losers removed their temporary files.
    assert.deepEqual(await readdir(dir), ['identity.pem'])
  })

  describe('refuses a damaged file and leaves it untouched', () => {
    let good: Identity
    let other: Identity
    before(async () => {
      good = await generateIdentity()
      other = await generateIdentity()
    })

    const cases: Array<[string, () => string | Uint8Array, string]> = [
      ['garbage', () => 'this is not an identity\n', 'no PEM blocks'],
      ['a truncated PEM', () => identityToPem(good).slice(0, 400), 'truncated'],
      ['a PEM cut inside the key', () => identityToPem(good).slice(0, 60), 'truncated'],
      ['only a certificate', () => good.certificatePem, 'no private key'],
      ['only a key', () => good.privateKeyPem, 'no certificate'],
      ['the key of a different identity', () => other.privateKeyPem + good.certificatePem, 'does not match'],
      ['an empty file', () => '', 'empty'],
      ['binary data', () => new Uint8Array([0xff, 0xfe, 0x00, 0x80, 0xc3]), 'not text'],
      [
        'a certificate whose DER is cut short',
        () => good.privateKeyPem + pemOf(good.certificateDer.slice(0, 100)),
        'cannot be parsed',
      ],
    ]
    for (const [name, contents, problem] of cases) {
      test(name, async () => {
        const dir = await freshDir()
        const file = join(dir, 'identity.pem')
        await writeFile(file, contents(), { mode: 0o600 })
        const bytes = await readFile(file)
        await rejectsWith(loadOrCreateIdentity(file), 'identity-error', JSON.stringify(file), problem)
        assert.deepEqual(await readFile(file), bytes)
        assert.deepEqual(await readdir(dir), ['identity.pem'])
      })
    }

    test('a directory', async () => {
      const dir = await freshDir()
      const file = join(dir, 'identity.pem')
      await mkdir(file)
      await rejectsWith(loadOrCreateIdentity(file), 'identity-error', JSON.stringify(file), 'directory')
      assert.ok((await stat(file)).isDirectory())
      assert.deepEqual(await readdir(file), [])
      assert.deepEqual(await readdir(dir), ['identity.pem'])
    })

    // Permission bits do not stop root (CI runs as root), so the unreadable
    // case uses a path that no user can read: one whose parent is a file.
    test('an unreadable path', async () => {
      const dir = await freshDir()
      const blocker = join(dir, 'not-a-directory')
      await writeFile(blocker, 'x')
      const file = join(blocker, 'identity.pem')
      await rejectsWith(loadOrCreateIdentity(file), 'identity-error', JSON.stringify(file))
      assert.equal(await readFile(blocker, 'utf8'), 'x')
    })
  })

  test('rejects a missing path with invalid-argument', async () => {
    await rejectsWith(loadOrCreateIdentity(''), 'invalid-argument')
    await rejectsWith(loadOrCreateIdentity(undefined as unknown as string), 'invalid-argument')
  })
})

/** A CERTIFICATE block around arbitrary bytes, well-formed as PEM whatever the bytes are. */
function pemOf(der: Uint8Array): string {
  return `${x509.PemConverter.encode(new Uint8Array(der), 'CERTIFICATE')}\n`
}
