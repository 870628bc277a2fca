/**
 * STUN helper tests. MESSAGE-INTEGRITY and FINGERPRINT are checked against
 * independent implementations (node:crypto HMAC-SHA1 and zlib's CRC-32), the
 * RFC 5769 sample request, and tests/vectors/stun.json, whose requests were
 * produced by a separate implementation and must be reproduced byte for byte.
 * Also the guard flow for both handshakes, USERNAME splitting, and hostile
 * input that may only raise protocol-error.
 */
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { describe, it } from 'node:test'
import { crc32 } from 'node:zlib'
import {
  KeypinError,
  STUN_ATTRIBUTES,
  STUN_BINDING_REQUEST,
  STUN_HEADER_SIZE,
  STUN_MAGIC_COOKIE,
  buildBindingRequest,
  deriveIcePassword,
  getUsername,
  isBindingRequest,
  noMungeServerCredentials,
  parseStunMessage,
  splitIceUsername,
  stunShortTermKey,
  verifyFingerprint,
  verifyMessageIntegrity,
  type BindingRequestOptions,
} from '@keypin/core'
import { assertKeypinError, fromHex, readVectors, toHex, seeded } from './support.js'

interface RequestVector {
  description: string
  hex: string
  digestHex: string
  built?: {
    username: string
    password: string
    transactionIdHex: string
    priority: number
    iceControlling: string
    useCandidate: boolean
  }
  username?: string
  verifyPassword: string
  messageIntegrityValid: boolean
  fingerprintValid: boolean
  split: { local: string; remote: string } | null
}

interface MalformedVector {
  description: string
  hex: string
  error: 'protocol-error'
  mentions: string
}

const vectors = readVectors<RequestVector | MalformedVector>('stun.json')
const requests = vectors.filter((v): v is RequestVector => !('error' in v))
const malformed = vectors.filter((v): v is MalformedVector => 'error' in v)
const rfc5769 = requests.find((v) => v.description.startsWith('RFC 5769')) as RequestVector
const digest = fromHex('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
const key = (password: string): Uint8Array => stunShortTermKey(password)

/** A STUN message from raw attributes, zero-padded, without the library's help. */
function rawMessage(type: number, attributes: Array<[number, Uint8Array]>, transactionId = new Uint8Array(12)): Uint8Array {
  const parts: Buffer[] = []
  for (const [attributeType, value] of attributes) {
    const head = Buffer.alloc(4)
    head.writeUInt16BE(attributeType, 0)
    head.writeUInt16BE(value.length, 2)
    parts.push(head, Buffer.from(value), Buffer.alloc((4 - (value.length % 4)) % 4))
  }
  const body = Buffer.concat(parts)
  const header = Buffer.alloc(STUN_HEADER_SIZE)
  header.writeUInt16BE(type, 0)
  header.writeUInt16BE(body.length, 2)
  header.writeUInt32BE(STUN_MAGIC_COOKIE, 4)
  header.set(transactionId, 8)
  return new Uint8Array(Buffer.concat([header, body]))
}

/** Where an attribute's header starts, found by walking the message independently. */
function attributeOffset(bytes: Uint8Array, type: number): number {
  const buffer = Buffer.from(bytes)
  for (let offset = STUN_HEADER_SIZE; offset < buffer.length; ) {
    if (buffer.readUInt16BE(offset) === type) return offset
    offset += 4 + ((buffer.readUInt16BE(offset + 2) + 3) & ~3)
  }
  return -1
}

/** RFC 5389 15.4 MESSAGE-INTEGRITY computed with node:crypto. */
function referenceIntegrity(bytes: Uint8Array, password: string): string {
  const at = attributeOffset(bytes, STUN_ATTRIBUTES.messageIntegrity)
  const prefix = Buffer.from(bytes.subarray(0, at))
  prefix.writeUInt16BE(at + 24 - STUN_HEADER_SIZE, 2)
  return createHmac('sha1', Buffer.from(password, 'utf8')).update(prefix).digest('hex')
}

/** RFC 5389 15.5 FINGERPRINT computed with zlib's CRC-32 (FINGERPRINT must be last). */
function referenceFingerprint(bytes: Uint8Array): number {
  return (crc32(bytes.subarray(0, bytes.length - 8)) ^ 0x5354554e) >>> 0
}

function builtOptions(built: NonNullable<RequestVector['built']>): BindingRequestOptions {
  return {
    username: built.username,
    password: built.password,
    transactionId: fromHex(built.transactionIdHex),
    priority: built.priority,
    iceControlling: BigInt(built.iceControlling),
    useCandidate: built.useCandidate,
  }
}

describe('STUN request vectors', () => {
  for (const vector of requests) {
    it(vector.description, () => {
      const bytes = fromHex(vector.hex)
      const message = parseStunMessage(bytes)
      assert.equal(isBindingRequest(message), true)
      if (vector.username !== undefined) assert.equal(getUsername(message), vector.username)
      if (vector.username !== undefined) assert.deepEqual(splitIceUsername(vector.username), vector.split)
      assert.equal(verifyMessageIntegrity(bytes, key(vector.verifyPassword)), vector.messageIntegrityValid)
      assert.equal(verifyFingerprint(bytes), vector.fingerprintValid)
      if (vector.built) {
        assert.equal(toHex(buildBindingRequest(builtOptions(vector.built))), vector.hex, 'builder output differs')
        // The guard derives the password it checks with from the first half of USERNAME.
        if (vector.split) assert.equal(deriveIcePassword(fromHex(vector.digestHex), vector.split.local), vector.verifyPassword)
      }
    })
  }

  it('include valid and invalid integrity and fingerprints', () => {
    for (const field of ['messageIntegrityValid', 'fingerprintValid'] as const) {
      assert.ok(requests.some((v) => v[field]) && requests.some((v) => !v[field]), field)
    }
  })
})

describe('STUN malformed vectors', () => {
  for (const vector of malformed) {
    it(vector.description, () => {
      const bytes = fromHex(vector.hex)
      assertKeypinError(() => parseStunMessage(bytes), vector.error, vector.mentions)
      assert.equal(verifyMessageIntegrity(bytes, key('x')), false)
      assert.equal(verifyFingerprint(bytes), false)
    })
  }
})

describe('RFC 5769 sample request', () => {
  const bytes = fromHex(rfc5769.hex)

  it('agrees with node:crypto and zlib on its own MESSAGE-INTEGRITY and FINGERPRINT', () => {
    const at = attributeOffset(bytes, STUN_ATTRIBUTES.messageIntegrity)
    assert.equal(referenceIntegrity(bytes, 'VOkJxbRl1RmTxUk/WvJxBt'), toHex(bytes.subarray(at + 4, at + 24)))
    assert.equal(referenceFingerprint(bytes), Buffer.from(bytes).readUInt32BE(bytes.length - 4))
  })

  it('parses into its attributes', () => {
    const message = parseStunMessage(bytes)
    assert.equal(message.type, STUN_BINDING_REQUEST)
    assert.equal(toHex(message.transactionId), 'b7e7a701bc34d686fa87dfae')
    assert.deepEqual(
      message.attributes.map((a) => a.type),
      [0x8022, STUN_ATTRIBUTES.priority, STUN_ATTRIBUTES.iceControlled, STUN_ATTRIBUTES.username, STUN_ATTRIBUTES.messageIntegrity, STUN_ATTRIBUTES.fingerprint],
    )
    assert.equal(Buffer.from(message.attributes[0]?.value ?? []).toString('utf8'), 'STUN test client')
    assert.equal(getUsername(message), 'evtj:h6vY')
    assert.deepEqual(splitIceUsername('evtj:h6vY'), { local: 'evtj', remote: 'h6vY' })
  })

  it('verifies with its password only', () => {
    assert.equal(verifyMessageIntegrity(bytes, key('VOkJxbRl1RmTxUk/WvJxBt')), true)
    assert.equal(verifyMessageIntegrity(bytes, key('VOkJxbRl1RmTxUk/WvJxBu')), false)
    assert.equal(verifyMessageIntegrity(bytes, new Uint8Array(0)), false)
    assert.equal(verifyFingerprint(bytes), true)
  })

  it('fails a check whichever byte is flipped', () => {
    for (let i = 0; i < bytes.length; i++) {
      const tampered = bytes.slice()
      tampered[i] = (tampered[i] as number) ^ 0x01
      let intact = false
      try {
        parseStunMessage(tampered)
        intact = verifyMessageIntegrity(tampered, key('VOkJxbRl1RmTxUk/WvJxBt')) && verifyFingerprint(tampered)
      } catch (error) {
        assert.ok(error instanceof KeypinError && error.code === 'protocol-error')
      }
      assert.equal(intact, false, `flipping byte ${i} went unnoticed`)
    }
  })
})

describe('buildBindingRequest against independent implementations', () => {
  const cases: BindingRequestOptions[] = [
    { username: 'abcd:efgh', password: 'a'.repeat(22) },
    { username: 'q+Z/09azAZ+/:q+Z/09azAZ+/', password: deriveIcePassword(digest, 'q+Z/09azAZ+/'), useCandidate: true },
    { username: `${'x'.repeat(256)}:${'y'.repeat(256)}`, password: 'p'.repeat(256), priority: 0xffff_ffff, iceControlling: 0n },
    { username: 'ünïcödé:😀', password: 'pässwörd', iceControlling: (1n << 64n) - 1n },
    { username: '', password: '' },
  ]

  for (const [index, options] of cases.entries()) {
    it(`case ${index}: ${JSON.stringify(options.username.slice(0, 24))}`, () => {
      const bytes = buildBindingRequest(options)
      const buffer = Buffer.from(bytes)
      assert.equal(buffer.readUInt16BE(2), bytes.length - STUN_HEADER_SIZE)
      assert.equal(buffer.readUInt32BE(4), STUN_MAGIC_COOKIE)
      const integrityAt = attributeOffset(bytes, STUN_ATTRIBUTES.messageIntegrity)
      assert.equal(referenceIntegrity(bytes, options.password), toHex(bytes.subarray(integrityAt + 4, integrityAt + 24)))
      assert.equal(referenceFingerprint(bytes), buffer.readUInt32BE(bytes.length - 4))
      assert.equal(verifyMessageIntegrity(bytes, key(options.password)), true)
      assert.equal(verifyFingerprint(bytes), true)

      const message = parseStunMessage(bytes)
      assert.equal(getUsername(message), options.username)
      const types = message.attributes.map((a) => a.type)
      assert.deepEqual(types, [
        STUN_ATTRIBUTES.username,
        STUN_ATTRIBUTES.priority,
        STUN_ATTRIBUTES.iceControlling,
        ...(options.useCandidate ? [STUN_ATTRIBUTES.useCandidate] : []),
        STUN_ATTRIBUTES.messageIntegrity,
        STUN_ATTRIBUTES.fingerprint,
      ])
      const priority = message.attributes.find((a) => a.type === STUN_ATTRIBUTES.priority)?.value ?? new Uint8Array(0)
      assert.equal(Buffer.from(priority).readUInt32BE(0), options.priority ?? 1862270975)
      if (options.iceControlling !== undefined) {
        const tie = message.attributes.find((a) => a.type === STUN_ATTRIBUTES.iceControlling)?.value ?? new Uint8Array(0)
        assert.equal(Buffer.from(tie).readBigUInt64BE(0), options.iceControlling)
      }
    })
  }

  it('uses a fresh random transaction id and tie-breaker by default', () => {
    const a = parseStunMessage(buildBindingRequest({ username: 'abcd:efgh', password: 'a'.repeat(22) }))
    const b = parseStunMessage(buildBindingRequest({ username: 'abcd:efgh', password: 'a'.repeat(22) }))
    assert.notDeepEqual(a.transactionId, b.transactionId)
    assert.notDeepEqual(a.attributes[2]?.value, b.attributes[2]?.value)
  })

  it('rejects bad options', () => {
    const base = { username: 'abcd:efgh', password: 'a'.repeat(22) }
    assertKeypinError(() => buildBindingRequest({ ...base, transactionId: new Uint8Array(11) }), 'invalid-argument', '12 bytes')
    assertKeypinError(() => buildBindingRequest({ ...base, priority: 2 ** 32 }), 'invalid-argument', 'priority')
    assertKeypinError(() => buildBindingRequest({ ...base, iceControlling: 1n << 64n }), 'invalid-argument', 'iceControlling')
    assertKeypinError(() => buildBindingRequest({ ...base, iceControlling: 5 as unknown as bigint }), 'invalid-argument', 'iceControlling')
    assertKeypinError(() => buildBindingRequest({ ...base, username: 5 as unknown as string }), 'invalid-argument', 'username')
    assertKeypinError(() => buildBindingRequest({ ...base, password: null as unknown as string }), 'invalid-argument', 'password')
    assertKeypinError(() => buildBindingRequest({ ...base, username: 'u'.repeat(70_000) }), 'invalid-argument', 'does not fit')
    assertKeypinError(() => buildBindingRequest(undefined as unknown as BindingRequestOptions), 'invalid-argument')
  })
})

describe('verifyMessageIntegrity details', () => {
  const password = 'a'.repeat(22)
  const request = buildBindingRequest({ username: 'abcd:efgh', password })

  it('ignores attributes after MESSAGE-INTEGRITY', () => {
    // Insert an unknown attribute between MESSAGE-INTEGRITY and FINGERPRINT.
    const fingerprintAt = attributeOffset(request, STUN_ATTRIBUTES.fingerprint)
    const extra = Buffer.from('802200045859595a', 'hex')
    const longer = Buffer.concat([request.subarray(0, fingerprintAt), extra, request.subarray(fingerprintAt)])
    longer.writeUInt16BE(longer.length - STUN_HEADER_SIZE, 2)
    longer.writeUInt32BE(referenceFingerprint(longer), longer.length - 4)
    assert.equal(verifyMessageIntegrity(new Uint8Array(longer), key(password)), true)
    assert.equal(verifyFingerprint(new Uint8Array(longer)), true)
  })

  it('is false without MESSAGE-INTEGRITY or with one of the wrong size', () => {
    const username: [number, Uint8Array] = [STUN_ATTRIBUTES.username, new TextEncoder().encode('abcd:efgh')]
    assert.equal(verifyMessageIntegrity(rawMessage(1, [username]), key(password)), false)
    const short = rawMessage(1, [username, [STUN_ATTRIBUTES.messageIntegrity, new Uint8Array(16)]])
    assert.equal(verifyMessageIntegrity(short, key(password)), false)
  })

  it('uses the first MESSAGE-INTEGRITY when there are two', () => {
    const at = attributeOffset(request, STUN_ATTRIBUTES.fingerprint)
    const second = Buffer.from(request.subarray(at - 24, at))
    second.fill(0, 4)
    const doubled = Buffer.concat([request.subarray(0, at), second])
    doubled.writeUInt16BE(doubled.length - STUN_HEADER_SIZE, 2)
    assert.equal(verifyMessageIntegrity(new Uint8Array(doubled), key(password)), true)
  })

  it('accepts a message that is a view into a larger buffer', () => {
    const backing = new Uint8Array(request.length + 7)
    backing.set(request, 3)
    const view = backing.subarray(3, 3 + request.length)
    assert.equal(verifyMessageIntegrity(view, key(password)), true)
    assert.equal(verifyFingerprint(view), true)
    assert.equal(getUsername(parseStunMessage(view)), 'abcd:efgh')
  })

  it('rejects non-bytes with invalid-argument', () => {
    assertKeypinError(() => verifyMessageIntegrity('x' as unknown as Uint8Array, key(password)), 'invalid-argument')
    assertKeypinError(() => verifyMessageIntegrity(request, password as unknown as Uint8Array), 'invalid-argument', 'key')
    assertKeypinError(() => verifyFingerprint([] as unknown as Uint8Array), 'invalid-argument')
    assertKeypinError(() => stunShortTermKey(1 as unknown as string), 'invalid-argument', 'password')
  })
})

describe('verifyFingerprint details', () => {
  it('is false when FINGERPRINT is missing or not last', () => {
    const username: [number, Uint8Array] = [STUN_ATTRIBUTES.username, new TextEncoder().encode('abcd:efgh')]
    assert.equal(verifyFingerprint(rawMessage(1, [username])), false)
    assert.equal(verifyFingerprint(rawMessage(1, [])), false)
    const request = buildBindingRequest({ username: 'abcd:efgh', password: 'a'.repeat(22) })
    const moved = Buffer.concat([request, Buffer.from('00250000', 'hex')])
    moved.writeUInt16BE(moved.length - STUN_HEADER_SIZE, 2)
    assert.equal(verifyFingerprint(new Uint8Array(moved)), false)
  })
})

describe('parseStunMessage', () => {
  it('copies the transaction id and views the attribute values', () => {
    const bytes = buildBindingRequest({ username: 'abcd:efgh', password: 'a'.repeat(22), transactionId: new Uint8Array(12).fill(7) })
    const message = parseStunMessage(bytes)
    bytes.fill(0, 8, 20)
    assert.deepEqual(message.transactionId, new Uint8Array(12).fill(7))
    assert.equal(message.attributes[0]?.value.buffer, bytes.buffer)
  })

  it('accepts a header-only message and any padding bytes', () => {
    assert.deepEqual(parseStunMessage(rawMessage(0x0101, [])).attributes, [])
    const spaced = rawMessage(1, [[STUN_ATTRIBUTES.username, new TextEncoder().encode('abcde')]])
    spaced.fill(0x20, spaced.length - 3)
    assert.equal(getUsername(parseStunMessage(spaced)), 'abcde')
  })

  it('every truncation of a request is a protocol-error', () => {
    const bytes = buildBindingRequest({ username: 'abcd:efgh', password: 'a'.repeat(22), useCandidate: true })
    for (let length = 0; length < bytes.length; length++) {
      assertKeypinError(() => parseStunMessage(bytes.subarray(0, length)), 'protocol-error', 'malformed STUN message')
    }
  })

  it('isBindingRequest is true only for Binding requests', () => {
    assert.equal(isBindingRequest(parseStunMessage(rawMessage(0x0001, []))), true)
    for (const type of [0x0101, 0x0111, 0x0011, 0x0003]) {
      assert.equal(isBindingRequest(parseStunMessage(rawMessage(type, []))), false)
    }
  })
})

describe('getUsername', () => {
  it('is null without USERNAME or for invalid UTF-8', () => {
    assert.equal(getUsername(parseStunMessage(rawMessage(1, []))), null)
    for (const bad of ['ff', 'c328', 'eda080', 'f4908080']) {
      assert.equal(getUsername(parseStunMessage(rawMessage(1, [[STUN_ATTRIBUTES.username, fromHex(`61${bad}62`)]]))), null, bad)
    }
  })

  it('decodes UTF-8, keeps a leading BOM, and takes the first USERNAME', () => {
    const first = new TextEncoder().encode('\ufeffé:x')
    const message = parseStunMessage(rawMessage(1, [[STUN_ATTRIBUTES.username, first], [STUN_ATTRIBUTES.username, fromHex('6162')]]))
    assert.equal(getUsername(message), '\ufeffé:x')
  })
})

describe('splitIceUsername', () => {
  it('splits a valid username into local (receiver) and remote (sender) ufrags', () => {
    assert.deepEqual(splitIceUsername('serv:dial'), { local: 'serv', remote: 'dial' })
    assert.deepEqual(splitIceUsername('A+/9:b0Z/'), { local: 'A+/9', remote: 'b0Z/' })
    const longest = 'y'.repeat(256)
    assert.deepEqual(splitIceUsername(`${longest}:${longest}`), { local: longest, remote: longest })
  })

  it('rejects anything node-datachannel could choke on', () => {
    const rejected = [
      'ab-c:defg',
      'abcd:de_fg',
      'ab_c:defg',
      'abcd :efgh',
      'abcd: efgh',
      ' abcd:efgh',
      'abcd:efgh ',
      'ab\tc:efgh',
      'abcd:efgh\n',
      'abcé:efgh',
      'abcd:ef😀gh',
      'abcd:\u0000efg',
      'abc:defg',
      'abcd:efg',
      `${'a'.repeat(257)}:abcd`,
      `abcd:${'a'.repeat(257)}`,
      'abcdefgh',
      '',
      ':',
      'abcd:',
      ':abcd',
      'abcd:efgh:ijkl',
      'abcd::efgh',
      'ab=c:defg',
      'ab.c:defg',
    ]
    for (const username of rejected) assert.equal(splitIceUsername(username), null, JSON.stringify(username))
    assert.equal(splitIceUsername(42 as unknown as string), null)
  })
})

describe('guard flow', () => {
  /** What the server does with a first datagram: true means answer it. */
  function admit(bytes: Uint8Array): boolean {
    const message = parseStunMessage(bytes)
    if (!isBindingRequest(message)) return false
    const username = getUsername(message)
    const halves = username === null ? null : splitIceUsername(username)
    if (halves === null) return false
    return verifyMessageIntegrity(bytes, stunShortTermKey(deriveIcePassword(digest, halves.local)))
  }

  it('admits a classic request U:U keyed with pwd(U)', () => {
    const u = 'q+Z/09azAZ+/'
    assert.equal(admit(buildBindingRequest({ username: `${u}:${u}`, password: deriveIcePassword(digest, u) })), true)
  })

  it('admits a no-munge request sU:bU keyed with the derived server password', () => {
    const browser = { ufrag: 'Gh4k', pwd: 'Rj7u1lQ0wW2zXy9+Kp/AbCdEf' }
    const server = noMungeServerCredentials(digest, browser.pwd)
    assert.equal(admit(buildBindingRequest({ username: `${server.ufrag}:${browser.ufrag}`, password: server.pwd })), true)
  })

  it('stays silent for a request made without the certhash', () => {
    const other = digest.slice()
    other[0] = (other[0] as number) ^ 0xff
    const u = 'q+Z/09azAZ+/'
    assert.equal(admit(buildBindingRequest({ username: `${u}:${u}`, password: deriveIcePassword(other, u) })), false)
    assert.equal(admit(buildBindingRequest({ username: 'ab-c:defg', password: deriveIcePassword(digest, 'abcd') })), false)
  })
})

describe('hostile STUN input', () => {
  it('10,000 random messages only ever raise protocol-error, and the verifiers never throw', () => {
    const random = seeded(0x7374756e)
    const outcomes = new Set<string>()
    for (let i = 0; i < 10_000; i++) {
      const length = STUN_HEADER_SIZE + 4 * Math.floor(random() * 12) + (random() < 0.2 ? Math.floor(random() * 4) : 0)
      const bytes = new Uint8Array(random() < 0.05 ? Math.floor(random() * STUN_HEADER_SIZE) : length)
      for (let j = 0; j < bytes.length; j++) bytes[j] = Math.floor(random() * 256)
      // Mostly a plausible header, so the attribute walk is what gets fuzzed;
      // small attribute lengths so that some messages are well-formed.
      if (bytes.length >= STUN_HEADER_SIZE && random() < 0.9) {
        const view = new DataView(bytes.buffer)
        view.setUint16(0, view.getUint16(0) & 0x3fff)
        view.setUint32(4, STUN_MAGIC_COOKIE)
        if (random() < 0.9) view.setUint16(2, bytes.length - STUN_HEADER_SIZE)
        for (let offset = STUN_HEADER_SIZE; offset + 4 <= bytes.length; offset += 4) {
          if (random() < 0.7) view.setUint16(offset + 2, Math.floor(random() * 12))
        }
      }
      try {
        parseStunMessage(bytes)
        outcomes.add('parsed')
      } catch (error) {
        assert.ok(error instanceof KeypinError, `non-KeypinError for ${toHex(bytes)}: ${String(error)}`)
        assert.equal(error.code, 'protocol-error', error.message)
        outcomes.add('rejected')
      }
      assert.equal(typeof verifyMessageIntegrity(bytes, key('x')), 'boolean')
      assert.equal(typeof verifyFingerprint(bytes), 'boolean')
    }
    assert.deepEqual([...outcomes].sort(), ['parsed', 'rejected'])
  })

  it('random mutations of a valid request are never accepted with the wrong bytes', () => {
    const random = seeded(0x6d757461)
    const password = 'a'.repeat(22)
    const original = buildBindingRequest({ username: 'abcd:efgh', password })
    for (let i = 0; i < 2000; i++) {
      const mutated = original.slice()
      const flips = 1 + Math.floor(random() * 3)
      for (let f = 0; f < flips; f++) {
        const at = Math.floor(random() * mutated.length)
        mutated[at] = (mutated[at] as number) ^ (1 + Math.floor(random() * 255))
      }
      // Two flips of the same byte can cancel out; that is not a mutation.
      if (toHex(mutated) === toHex(original)) continue
      let accepted = false
      try {
        parseStunMessage(mutated)
        accepted = verifyMessageIntegrity(mutated, key(password)) && verifyFingerprint(mutated)
      } catch (error) {
        assert.ok(error instanceof KeypinError && error.code === 'protocol-error', String(error))
      }
      assert.equal(accepted, false, toHex(mutated))
    }
  })
})
