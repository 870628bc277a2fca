/**
 * Client-side scenarios against the scenario server, written once and run
 * by every client kind: in Node directly, and in Chromium by shipping this
 * function's source into the page. So `runScenario` must stay
 * self-contained: no imports, only web-platform globals and its arguments.
 */

export interface ScenarioResult {
  ok: boolean
  detail: string
}

/** Knobs some scenarios take; plain data, so it crosses into a page as JSON. */
export interface ScenarioOptions {
  /** wrong-pin: the dialer's handshake timeout (ms), which is how a WebRTC dial to a silent server ends. Default 3000. */
  handshakeTimeout?: number
  /** wrong-pin: the KeypinError code the failed dial must carry; without it, `pin-mismatch` or `timeout`. */
  wrongPinCode?: string
  /** concurrent-kinds: a name shared by the clients that run together, and how many of them there are. */
  group?: string
  parties?: number
}

export type ScenarioName =
  | 'echo'
  | 'streams-50'
  | 'close-write-eof'
  | 'reset-code'
  | 'cancel-code'
  | 'datagrams'
  | 'datagram-too-large'
  | 'server-opened'
  | 'slow-reader'
  | 'close-code'
  | 'streams-20'
  | 'connections-5'
  | 'wrong-pin'
  | 'concurrent-kinds'

/** The scenarios every client kind runs in the per-transport test files. */
export const SCENARIOS: ScenarioName[] = [
  'echo',
  'streams-50',
  'close-write-eof',
  'reset-code',
  'cancel-code',
  'datagrams',
  'datagram-too-large',
  'server-opened',
  'slow-reader',
  'close-code',
]

/** The smallest structural view of the public API the scenarios use. */
interface AnyStream {
  readable: ReadableStream<Uint8Array>
  writable: WritableStream<Uint8Array>
  closeWrite(): Promise<void>
}
interface AnyConnection {
  openStream(options?: { signal?: AbortSignal }): Promise<AnyStream>
  acceptStream(options?: { signal?: AbortSignal }): Promise<AnyStream>
  datagrams: { maxPayloadSize: number; send(data: Uint8Array): Promise<void>; incoming: ReadableStream<Uint8Array> }
  close(reason?: { code?: string | number; message?: string }): Promise<void>
  closed: Promise<{ code: string; wireCode: number; initiator: string }>
}
/** Any client's dial(); options a dialer does not know are ignored. */
export type ScenarioDial = (address: string, options?: { signal?: AbortSignal; handshakeTimeout?: number }) => Promise<unknown>

/**
 * Runs scenario `name` with `dial` against the scenario server at `address`.
 * Never throws: every failure, including the dial's, becomes `ok: false`
 * with the reason in `detail`.
 */
export async function runScenario(
  name: ScenarioName,
  dial: ScenarioDial,
  address: string,
  options: ScenarioOptions = {},
): Promise<ScenarioResult> {
  const SLOW_MS = 1500
  const random = (length: number): Uint8Array => {
    const out = new Uint8Array(length)
    for (let i = 0; i < length; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(length, i + 65536)))
    return out
  }
  const withCommand = (command: string, body: Uint8Array): Uint8Array => {
    const out = new Uint8Array(body.byteLength + 1)
    out[0] = command.charCodeAt(0)
    out.set(body, 1)
    return out
  }
  const readAll = async (stream: AnyStream): Promise<Uint8Array> => {
    const parts: Uint8Array[] = []
    let total = 0
    const reader = stream.readable.getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      parts.push(value)
      total += value.byteLength
    }
    const out = new Uint8Array(total)
    let offset = 0
    for (const part of parts) {
      out.set(part, offset)
      offset += part.byteLength
    }
    return out
  }
  const equal = (a: Uint8Array, b: Uint8Array): boolean => a.byteLength === b.byteLength && a.every((x, i) => x === b[i])
  const errorOf = (error: unknown): string => {
    const e = error as { code?: string; wireCode?: number; message?: string }
    return `${e.code ?? 'no-code'}/${e.wireCode ?? '-'}: ${e.message ?? String(error)}`
  }
  const echo = async (conn: AnyConnection, payload: Uint8Array): Promise<boolean> => {
    const stream = await conn.openStream({ signal: AbortSignal.timeout(10_000) })
    const writer = stream.writable.getWriter()
    await writer.write(withCommand('E', payload))
    await writer.close()
    return equal(await readAll(stream), payload)
  }
  const echoes = async (conn: AnyConnection, count: number): Promise<string> => {
    const results = await Promise.all(Array.from({ length: count }, (_, i) => echo(conn, random(1000 + i * 100))))
    const bad = results.filter((ok) => !ok).length
    return bad === 0 ? '' : `${bad} of ${count} streams echoed wrong bytes`
  }
  const within = <T>(promise: Promise<T>, ms: number): Promise<T | null> => {
    let timer: ReturnType<typeof setTimeout> | undefined
    const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms)))
    return Promise.race([promise, late]).finally(() => clearTimeout(timer))
  }
  const datagramRoundTrip = async (conn: AnyConnection): Promise<string> => {
    const sent = Array.from({ length: 20 }, (_, i) => new TextEncoder().encode(`datagram ${i}`))
    const reader = conn.datagrams.incoming.getReader()
    try {
      for (const datagram of sent) await conn.datagrams.send(datagram)
      const first = await within(reader.read(), 5000)
      if (!first || first.done) return 'no datagram came back within 5 s'
      return sent.some((datagram) => equal(datagram, first.value)) ? '' : 'an unexpected datagram came back'
    } finally {
      reader.releaseLock()
    }
  }
  const dialDefault = async (): Promise<AnyConnection> => (await dial(address, { signal: AbortSignal.timeout(15_000) })) as AnyConnection

  if (name === 'wrong-pin') {
    // The same address with one character of the certhash changed: a valid
    // certhash (the character sits inside the digest) naming another key.
    const at = address.lastIndexOf(':') + 21
    const wrong = address.slice(0, at) + (address[at] === 'A' ? 'B' : 'A') + address.slice(at + 1)
    const handshakeTimeout = options.handshakeTimeout ?? 3000
    const expected = options.wrongPinCode ? [options.wrongPinCode] : ['pin-mismatch', 'timeout']
    const started = Date.now()
    try {
      const conn = (await dial(wrong, { signal: AbortSignal.timeout(handshakeTimeout + 10_000), handshakeTimeout })) as AnyConnection
      await conn.close().catch(() => {})
      return { ok: false, detail: 'the dial to a wrong certhash connected' }
    } catch (error) {
      const e = error as { name?: string; code?: string }
      const ok = e.name === 'KeypinError' && expected.includes(e.code ?? '')
      const seconds = ((Date.now() - started) / 1000).toFixed(1)
      return {
        ok,
        detail: ok
          ? `dial failed with ${e.code} after ${seconds} s`
          : `dial failed after ${seconds} s with ${e.name}/${errorOf(error)}; expected a KeypinError ${expected.join(' or ')}`,
      }
    }
  }

  if (name === 'connections-5') {
    const dials = await Promise.allSettled(Array.from({ length: 5 }, () => dialDefault()))
    const conns = dials.flatMap((d) => (d.status === 'fulfilled' ? [d.value] : []))
    try {
      const failed = dials.find((d): d is PromiseRejectedResult => d.status === 'rejected')
      if (failed) return { ok: false, detail: `${conns.length}/5 dials succeeded; one threw ${errorOf(failed.reason)}` }
      // Every connection carries a stream at the same time as the others.
      const results = await Promise.all(conns.map((conn, i) => echo(conn, random(20_000 + i))))
      const good = results.filter(Boolean).length
      return { ok: good === 5, detail: `${good}/5 connections open at once echoed 20 kB` }
    } catch (error) {
      return { ok: false, detail: `threw ${errorOf(error)}` }
    } finally {
      await Promise.all(conns.map((conn) => conn.close().catch(() => {})))
    }
  }

  let conn: AnyConnection
  try {
    conn = await dialDefault()
  } catch (error) {
    return { ok: false, detail: `dial threw ${errorOf(error)}` }
  }
  try {
    switch (name) {
      case 'echo': {
        const ok = await echo(conn, random(100_000))
        return { ok, detail: ok ? '100 kB echoed' : 'echo differs' }
      }
      case 'streams-50':
      case 'streams-20': {
        const count = name === 'streams-50' ? 50 : 20
        const problem = await echoes(conn, count)
        return { ok: problem === '', detail: problem || `${count} concurrent streams echoed` }
      }
      case 'close-write-eof': {
        const stream = await conn.openStream()
        const writer = stream.writable.getWriter()
        const chunks = [random(3000), random(70_000), random(5)]
        await writer.write(withCommand('E', new Uint8Array(0)))
        for (const chunk of chunks) await writer.write(chunk)
        await writer.close()
        const got = await readAll(stream)
        const want = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0))
        let offset = 0
        for (const chunk of chunks) {
          want.set(chunk, offset)
          offset += chunk.byteLength
        }
        const ok = equal(got, want)
        return { ok, detail: ok ? `EOF after all ${want.byteLength} bytes` : `got ${got.byteLength} of ${want.byteLength} bytes` }
      }
      case 'reset-code': {
        const stream = await conn.openStream()
        const writer = stream.writable.getWriter()
        await writer.write(withCommand('R', new Uint8Array(0)))
        try {
          await readAll(stream)
          return { ok: false, detail: 'read ended cleanly; expected a reset' }
        } catch (error) {
          const e = error as { code?: string; wireCode?: number }
          return { ok: e.wireCode === 77 && e.code === 'internal-error', detail: `reader failed with ${errorOf(error)}` }
        }
      }
      case 'cancel-code': {
        const stream = await conn.openStream()
        const writer = stream.writable.getWriter()
        const deadline = Date.now() + 10_000
        try {
          await writer.write(withCommand('C', new Uint8Array(0)))
          while (Date.now() < deadline) await writer.write(random(16_384))
          return { ok: false, detail: 'writes never failed' }
        } catch (error) {
          const e = error as { code?: string; wireCode?: number }
          return { ok: e.code === 'cancelled' && e.wireCode === 1, detail: `writer failed with ${errorOf(error)}` }
        }
      }
      case 'datagrams': {
        const problem = await datagramRoundTrip(conn)
        return { ok: problem === '', detail: problem || 'a datagram came back unchanged' }
      }
      case 'datagram-too-large': {
        const max = conn.datagrams.maxPayloadSize
        await conn.datagrams.send(new Uint8Array(max))
        try {
          await conn.datagrams.send(new Uint8Array(max + 1))
          return { ok: false, detail: `a ${max + 1}-byte datagram was accepted` }
        } catch (error) {
          const e = error as { code?: string; maxDatagramPayloadSize?: number }
          return { ok: e.code === 'too-large' && e.maxDatagramPayloadSize === max, detail: `max ${max}; oversize failed with ${errorOf(error)}` }
        }
      }
      case 'server-opened': {
        const trigger = await conn.openStream()
        const writer = trigger.writable.getWriter()
        await writer.write(withCommand('O', new Uint8Array(0)))
        const stream = await conn.acceptStream({ signal: AbortSignal.timeout(10_000) })
        const text = new TextDecoder().decode(await readAll(stream))
        return { ok: text === 'hello from server', detail: `read ${JSON.stringify(text)}` }
      }
      case 'slow-reader': {
        const stream = await conn.openStream()
        const writer = stream.writable.getWriter()
        await writer.write(withCommand('S', new Uint8Array(0)))
        const chunk = random(64 * 1024)
        let accepted = 0
        const started = Date.now()
        let stalledAt = -1
        // While the server does not read, the writer must stall near the windows.
        while (Date.now() - started < SLOW_MS - 300) {
          const write = writer.write(chunk).then(() => true)
          const progressed = (await within(write, 200)) ?? false
          if (!progressed) {
            stalledAt = accepted
            await write
          }
          accepted += chunk.byteLength
          if (accepted > 64 * 1024 * 1024) break
        }
        const bound = 8 * 1024 * 1024
        for (let i = 0; i < 16; i++) {
          await writer.write(chunk)
          accepted += chunk.byteLength
        }
        await writer.close()
        const count = Number(new TextDecoder().decode(await readAll(stream)))
        const ok = stalledAt > 0 && stalledAt < bound && count === accepted
        return { ok, detail: `writer stalled at ${stalledAt} bytes (bound ${bound}); server counted ${count} of ${accepted}` }
      }
      case 'close-code': {
        const stream = await conn.openStream()
        const writer = stream.writable.getWriter()
        await writer.write(withCommand('X', new Uint8Array(0)))
        const info = await within(conn.closed, 10_000)
        if (!info) return { ok: false, detail: 'the connection did not close within 10 s' }
        const ok = info.code === 'permission-denied' && info.wireCode === 10 && info.initiator === 'remote'
        return { ok, detail: `closed with ${info.code}/${info.wireCode} by ${info.initiator}` }
      }
      case 'concurrent-kinds': {
        // The server holds every party's "meet" stream until all of them have
        // one open, so the traffic below runs while every party is connected.
        const meet = async (tag: string): Promise<string> => {
          const stream = await conn.openStream({ signal: AbortSignal.timeout(10_000) })
          const writer = stream.writable.getWriter()
          await writer.write(withCommand('M', new TextEncoder().encode(`${options.group ?? 'all'}/${tag} ${options.parties ?? 1}`)))
          await writer.close()
          const reply = await within(readAll(stream), 30_000)
          return reply ? new TextDecoder().decode(reply) : 'no reply within 30 s'
        }
        const start = await meet('start')
        if (!start.startsWith('go ')) return { ok: false, detail: `start: ${start}` }
        const [streams, big] = await Promise.all([echoes(conn, 20), echo(conn, random(100_000))])
        const datagrams = await datagramRoundTrip(conn)
        const end = await meet('end')
        const problems = [streams, big ? '' : '100 kB echo differs', datagrams, end.startsWith('go ') ? '' : `end: ${end}`].filter(Boolean)
        return {
          ok: problems.length === 0,
          detail: problems.join('; ') || `20 streams, 100 kB and datagrams with all ${options.parties ?? 1} connected (${start.slice(3)})`,
        }
      }
      default:
        return { ok: false, detail: `unknown scenario ${String(name)}` }
    }
  } catch (error) {
    return { ok: false, detail: `threw ${errorOf(error)}` }
  } finally {
    await conn.close().catch(() => {})
  }
}
