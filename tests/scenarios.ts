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
type Dial = (address: string, options?: { signal?: AbortSignal }) => Promise<unknown>

export async function runScenario(name: ScenarioName, dial: Dial, address: string): Promise<ScenarioResult> {
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

  const conn = (await dial(address, { signal: AbortSignal.timeout(15_000) })) as AnyConnection
  try {
    switch (name) {
      case 'echo': {
        const ok = await echo(conn, random(100_000))
        return { ok, detail: ok ? '100 kB echoed' : 'echo differs' }
      }
      case 'streams-50': {
        const results = await Promise.all(Array.from({ length: 50 }, (_, i) => echo(conn, random(1000 + i * 100))))
        const bad = results.filter((ok) => !ok).length
        return { ok: bad === 0, detail: `${50 - bad}/50 streams echoed` }
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
        const sent = Array.from({ length: 20 }, (_, i) => new TextEncoder().encode(`datagram ${i}`))
        const reader = conn.datagrams.incoming.getReader()
        for (const datagram of sent) await conn.datagrams.send(datagram)
        const first = await Promise.race([reader.read(), new Promise<null>((resolve) => setTimeout(() => resolve(null), 5000))])
        reader.releaseLock()
        if (!first || first.done) return { ok: false, detail: 'no datagram came back within 5 s' }
        const ok = sent.some((datagram) => equal(datagram, first.value))
        return { ok, detail: ok ? 'a datagram came back unchanged' : 'an unexpected datagram came back' }
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
          const progressed = await Promise.race([write, new Promise<false>((resolve) => setTimeout(() => resolve(false), 200))])
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
        const info = await Promise.race([conn.closed, new Promise<null>((resolve) => setTimeout(() => resolve(null), 10_000))])
        if (!info) return { ok: false, detail: 'the connection did not close within 10 s' }
        const ok = info.code === 'permission-denied' && info.initiator === 'remote'
        return { ok, detail: `closed with ${info.code}/${info.wireCode} by ${info.initiator}` }
      }
    }
  } catch (error) {
    return { ok: false, detail: `threw ${errorOf(error)}` }
  } finally {
    await conn.close().catch(() => {})
  }
}
