/**
 * The server's identity: a self-signed ECDSA P-256 certificate and its key.
 *
 * The certificate vouches for nothing (empty names, no identifying
 * extensions); its SHA-256 "certhash" is what clients pin, and that certhash
 * is part of the dialable address. So the one thing this file must never do
 * is change an identity silently: an existing identity file is loaded
 * verbatim or refused with a reason, never regenerated.
 *
 * This file creates, parses, serialises and persists identities. It does not
 * configure TLS, build addresses or log anything. Node-only.
 */
// @peculiar/x509 resolves its ASN.1 machinery through decorators that need
// the Reflect metadata API, which must exist before that module is evaluated.
import 'reflect-metadata'
import * as x509 from '@peculiar/x509'
import { createPrivateKey, createPublicKey, randomBytes, sign, verify, webcrypto } from 'node:crypto'
import { link, mkdir, open, readFile, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { KeypinError, certhashOfCertificate, describe, fingerprintFromDigest, sha256 } from '@keypin/core'

/**
 * Node's WebCrypto, typed as the DOM's `Crypto` that @peculiar/x509 expects.
 * It is the same object; @types/node and lib.dom merely declare different
 * overload sets for it, so the types need bridging, not the value.
 */
const webCrypto = webcrypto as unknown as Crypto
x509.cryptoProvider.set(webCrypto)

export interface Identity {
  /** The certificate exactly as the TLS stack sends it; the certhash is over these bytes. */
  readonly certificateDer: Uint8Array
  readonly certificatePem: string
  /** PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), the form the TLS stack loads. */
  readonly privateKeyPem: string
  /** sha256(certificateDer). */
  readonly digest: Uint8Array
  /** Multibase certhash of the certificate, e.g. `uEi...`. */
  readonly certhash: string
  /** The digest as WebRTC's DTLS fingerprint: `AB:CD:...`. */
  readonly fingerprint: string
}

const P256_SIGNING = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const

/** Clock skew tolerated on peers whose clocks run behind ours. */
const NOT_BEFORE_SKEW_MS = 24 * 60 * 60 * 1000

/**
 * Ten years. The certhash is the identity and it is baked into the address
 * people dial, so expiry cannot be fixed by quietly renewing: a new
 * certificate is a new address. Pinning clients do not need expiry to
 * revoke anything, so the lifetime is set long enough to never force that.
 */
const LIFETIME_MS = 10 * 365 * 24 * 60 * 60 * 1000

const PRIVATE_KEY_LABEL = 'PRIVATE KEY'
const CERTIFICATE_LABEL = 'CERTIFICATE'

/** Creates a fresh identity. Nothing is written to disk. */
export async function generateIdentity(): Promise<Identity> {
  const keys = await webCrypto.subtle.generateKey(P256_SIGNING, true, ['sign', 'verify'])
  const now = Date.now()
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerialNumber(),
    name: '',
    notBefore: new Date(now - NOT_BEFORE_SKEW_MS),
    notAfter: new Date(now + LIFETIME_MS),
    keys,
    signingAlgorithm: P256_SIGNING,
    // The generator always writes an extensions field, and RFC 5280 forbids
    // an empty one (strict parsers reject it). Basic constraints with cA
    // false says only "not a CA", which identifies no one.
    extensions: [new x509.BasicConstraintsExtension(false)],
  })
  const pkcs8 = await webCrypto.subtle.exportKey('pkcs8', keys.privateKey)
  return buildIdentity(new Uint8Array(certificate.rawData), new Uint8Array(pkcs8))
}

/**
 * Parses PEM text holding one PKCS#8 ECDSA P-256 private key and one
 * certificate, in either order, and checks that the key belongs to the
 * certificate. Throws `identity-error` naming the problem.
 */
export async function identityFromPem(pem: string): Promise<Identity> {
  if (typeof pem !== 'string') {
    throw new KeypinError('invalid-argument', `identity PEM must be a string, got ${describe(pem)}`)
  }
  return parseIdentity(pem, 'identity PEM')
}

/** The file form of an identity: the key, then the certificate, newline-terminated. */
export function identityToPem(identity: Identity): string {
  if (
    typeof identity !== 'object' ||
    identity === null ||
    typeof identity.privateKeyPem !== 'string' ||
    typeof identity.certificatePem !== 'string'
  ) {
    throw new KeypinError('invalid-argument', `identity must be an Identity, got ${describe(identity)}`)
  }
  return withFinalNewline(identity.privateKeyPem) + withFinalNewline(identity.certificatePem)
}

/**
 * Loads the identity stored in `file`, creating it on first use.
 *
 * An existing file is used as it is, so the certhash survives restarts. A
 * file that cannot be read or parsed, or whose key does not match its
 * certificate, is an `identity-error` naming the file and the problem; it is
 * never replaced, because replacing it would silently change the address.
 */
export async function loadOrCreateIdentity(file: string): Promise<Identity> {
  if (typeof file !== 'string' || file.length === 0) {
    throw new KeypinError('invalid-argument', `identity file must be a non-empty path, got ${describe(file)}`)
  }
  const subject = `identity file ${JSON.stringify(file)}`
  const existing = await readIdentityFile(file, subject)
  if (existing !== undefined) return existing
  return createIdentityFile(file, subject)
}

/** Reads and parses `file`; `undefined` only when nothing exists at that path. */
async function readIdentityFile(file: string, subject: string): Promise<Identity | undefined> {
  let bytes: Uint8Array
  try {
    bytes = await readFile(file)
  } catch (cause) {
    const code = errnoCode(cause)
    if (code === 'ENOENT') return undefined
    throw new KeypinError('identity-error', `${subject} cannot be read: ${describeFsError(code, cause)}`, { cause })
  }
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch (cause) {
    throw new KeypinError('identity-error', `${subject} is not text (invalid UTF-8), so it is not a PEM file`, {
      cause,
    })
  }
  return parseIdentity(text, subject)
}

/**
 * Generates an identity and publishes it at `file` without ever exposing a
 * partial file or overwriting one: the PEM is written and flushed to a
 * private temporary file beside the target, then hard-linked into place.
 * `link` fails if the target exists, so when two processes race, exactly one
 * wins and the other adopts the winner's identity.
 */
async function createIdentityFile(file: string, subject: string): Promise<Identity> {
  const directory = dirname(file)
  try {
    await mkdir(directory, { recursive: true, mode: 0o700 })
  } catch (cause) {
    const reason = describeFsError(errnoCode(cause), cause)
    throw new KeypinError('identity-error', `${subject} cannot be created: its directory cannot be made: ${reason}`, {
      cause,
    })
  }

  const identity = await generateIdentity()
  const temporary = join(directory, `.${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  let wroteTemporary = false
  try {
    try {
      const handle = await open(temporary, 'wx', 0o600)
      wroteTemporary = true
      try {
        await handle.writeFile(identityToPem(identity))
        // Flushed before it becomes visible, so a crash cannot leave an
        // empty identity file behind a certhash that was already handed out.
        await handle.sync()
      } finally {
        await handle.close()
      }
    } catch (cause) {
      const reason = describeFsError(errnoCode(cause), cause)
      throw new KeypinError('identity-error', `${subject} cannot be written: ${reason}`, { cause })
    }
    try {
      await link(temporary, file)
    } catch (cause) {
      const code = errnoCode(cause)
      if (code !== 'EEXIST') {
        throw new KeypinError('identity-error', `${subject} cannot be written: ${describeFsError(code, cause)}`, {
          cause,
        })
      }
      // Another creator published first; its identity is the one to use.
      const winner = await readIdentityFile(file, subject)
      if (winner !== undefined) return winner
      throw new KeypinError('identity-error', `${subject} exists but cannot be opened (a dangling symbolic link?)`)
    }
  } finally {
    // Only our own temporary file: the name is random, but never delete what we did not create.
    if (wroteTemporary) await unlink(temporary).catch(() => undefined)
  }
  await syncDirectory(directory)
  return identity
}

/**
 * The shared parser. `subject` starts every message ("identity PEM", or the
 * file's name) so the error says what was being read.
 */
async function parseIdentity(text: string, subject: string): Promise<Identity> {
  const fail = (problem: string, cause?: unknown): KeypinError =>
    new KeypinError('identity-error', `${subject} ${problem}`, cause === undefined ? {} : { cause })

  if (text.trim().length === 0) throw fail('is empty')

  let blocks: ReturnType<typeof x509.PemConverter.decodeWithHeaders>
  try {
    blocks = x509.PemConverter.decodeWithHeaders(text)
  } catch (cause) {
    throw fail('has a PEM block whose body is not valid base64', cause)
  }
  // The decoder skips anything it cannot match, so a cut-off block would
  // otherwise vanish unnoticed; every BEGIN line must have produced a block.
  const beginLines = text.match(/-----BEGIN /g)?.length ?? 0
  if (beginLines === 0) throw fail('contains no PEM blocks')
  if (beginLines !== blocks.length) {
    throw fail('has a PEM block without a matching END line or with malformed lines (is the file truncated?)')
  }

  const keys: ArrayBuffer[] = []
  const certificates: ArrayBuffer[] = []
  for (const block of blocks) {
    if (block.type === PRIVATE_KEY_LABEL) keys.push(block.rawData)
    else if (block.type === CERTIFICATE_LABEL) certificates.push(block.rawData)
    else throw fail(unexpectedBlock(block.type))
  }
  if (keys.length === 0) throw fail('has no private key (expected a PKCS#8 "PRIVATE KEY" block)')
  if (certificates.length === 0) throw fail('has no certificate (expected a "CERTIFICATE" block)')
  if (keys.length > 1) throw fail(`has ${keys.length} private keys; expected exactly one`)
  if (certificates.length > 1) throw fail(`has ${certificates.length} certificates; expected exactly one`)

  const certificateDer = new Uint8Array(certificates[0] as ArrayBuffer)
  const pkcs8 = new Uint8Array(keys[0] as ArrayBuffer)

  let publicKey: x509.PublicKey
  let algorithm: { name: string; namedCurve?: unknown }
  try {
    // The public key is decoded lazily, so reading it belongs to the parse.
    publicKey = new x509.X509Certificate(certificateDer).publicKey
    algorithm = publicKey.algorithm
  } catch (cause) {
    throw fail(`has a certificate that cannot be parsed: ${messageOf(cause)}`, cause)
  }
  // The certhash covers these exact bytes, but a TLS stack sends only the
  // DER it parsed; extra bytes would make the advertised pin unmatchable.
  const encodedLength = derLength(certificateDer)
  if (encodedLength === undefined || encodedLength > certificateDer.length) {
    throw fail('has a certificate whose DER length header is malformed')
  }
  if (encodedLength < certificateDer.length) {
    throw fail(`has a certificate with ${certificateDer.length - encodedLength} stray bytes after its DER encoding`)
  }
  if (algorithm.name !== 'ECDSA' || algorithm.namedCurve !== 'P-256') {
    const suffix = typeof algorithm.namedCurve === 'string' ? ` ${algorithm.namedCurve}` : ''
    const found = `${algorithm.name}${suffix}`
    throw fail(`has a certificate for a ${found} key; expected ECDSA P-256`)
  }

  let privateKey: ReturnType<typeof createPrivateKey>
  try {
    privateKey = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' })
  } catch (cause) {
    throw fail(`has a private key that is not valid PKCS#8: ${messageOf(cause)}`, cause)
  }
  if (privateKey.asymmetricKeyType !== 'ec') {
    throw fail(`has a ${privateKey.asymmetricKeyType ?? 'unknown'} private key; expected ECDSA P-256`)
  }
  const curve = privateKey.asymmetricKeyDetails?.namedCurve
  if (curve !== 'prime256v1') {
    throw fail(`has an EC private key on curve ${curve ?? 'unknown'}; expected P-256 (prime256v1)`)
  }

  // Proving possession beats comparing encodings: a PKCS#8 key may carry a
  // stale or absent public key, but a signature only verifies if the secret
  // scalar really belongs to the certificate's public key.
  const spki = Buffer.from(publicKey.rawData)
  const certificateKey = createPublicKey({ key: spki, format: 'der', type: 'spki' })
  const nonce = randomBytes(32)
  if (!verify('sha256', nonce, certificateKey, sign('sha256', nonce, privateKey))) {
    throw fail("has a private key that does not match its certificate's public key")
  }

  return buildIdentity(certificateDer, pkcs8)
}

function buildIdentity(certificateDer: Uint8Array<ArrayBuffer>, pkcs8: Uint8Array<ArrayBuffer>): Identity {
  const digest = sha256(certificateDer)
  return Object.freeze({
    certificateDer,
    certificatePem: withFinalNewline(x509.PemConverter.encode(certificateDer, CERTIFICATE_LABEL)),
    privateKeyPem: withFinalNewline(x509.PemConverter.encode(pkcs8, PRIVATE_KEY_LABEL)),
    digest,
    certhash: certhashOfCertificate(certificateDer),
    fingerprint: fingerprintFromDigest(digest),
  })
}

/** 16 random bytes as hex, top bit cleared so the DER INTEGER is positive without padding. */
function randomSerialNumber(): string {
  const bytes = randomBytes(16)
  bytes[0] = (bytes[0] as number) & 0x7f
  return bytes.toString('hex')
}

/** Total length of the DER TLV starting at offset 0, or undefined if the header is unreadable. */
function derLength(der: Uint8Array): number | undefined {
  const first = der[1]
  if (first === undefined) return undefined
  if (first < 0x80) return 2 + first
  const count = first & 0x7f
  if (count === 0 || count > 4 || der.length < 2 + count) return undefined
  let length = 0
  for (let i = 0; i < count; i++) length = length * 256 + (der[2 + i] as number)
  return 2 + count + length
}

function unexpectedBlock(type: string): string {
  const expected = 'expected one PKCS#8 "PRIVATE KEY" and one "CERTIFICATE"'
  if (type === 'EC PRIVATE KEY') return `has a SEC1 "EC PRIVATE KEY" block; convert it to PKCS#8 ("PRIVATE KEY")`
  if (type === 'ENCRYPTED PRIVATE KEY') return `has an encrypted private key; ${expected}, unencrypted`
  return `has an unexpected ${JSON.stringify(type)} PEM block; ${expected}`
}

function withFinalNewline(text: string): string {
  return text.endsWith('\n') ? text : `${text}\n`
}

/**
 * Makes the new directory entry durable, so an address handed out after
 * this returns still resolves to the same identity after a power loss.
 * Best effort: some platforms cannot open or sync directories.
 */
async function syncDirectory(directory: string): Promise<void> {
  try {
    const handle = await open(directory, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  } catch {
    // Nothing to do: the file itself is already flushed.
  }
}

function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code
  }
  return undefined
}

function describeFsError(code: string | undefined, error: unknown): string {
  switch (code) {
    case 'EISDIR':
      return 'it is a directory'
    case 'EACCES':
    case 'EPERM':
      return 'permission denied'
    case 'ENOTDIR':
      return 'a parent of the path is not a directory'
    default:
      return messageOf(error)
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
