/**
 * Datagram rate: DATAGRAM_SIZE-byte payloads sent in batches for DATAGRAM_MS
 * on one connection; received/s is what the server application read. Loss is
 * split where visible: the server's application queue and the kernel's UDP
 * receive buffers. 'n/a' when the implementation has no datagram API.
 */
import { performance } from 'node:perf_hooks'
import { errorText } from './common.js'
import type { Impl } from './impls.js'
import { udpRcvbufErrors } from './machine.js'
import type { Tracker } from './measure.js'
import { DATAGRAM_BATCH, DATAGRAM_MS, DATAGRAM_SIZE } from './params.js'
import type { ServerChild } from './server-child.js'
import { sleep, yieldToLoop } from './timing.js'

export interface Datagrams {
  /** Kernel UDP receive-buffer drops during the run, whole machine (-1 if unknown). */
  kernelDropped: number
  /** Dropped by the server's bounded application queue (Keypin only; -1 if unknown). */
  appDropped: number
  sent: number
  sendErrors: number
  firstSendError: string | undefined
  received: number
  seconds: number
  perSecond: number
  ratio: number
}

/** The measurement's hard limit: the send time plus 15 s. */
export const DATAGRAMS_LIMIT_MS = DATAGRAM_MS + 15_000

export async function datagrams(impl: Impl, server: ServerChild, tracker: Tracker): Promise<Datagrams | 'n/a'> {
  const conn = tracker.track(await impl.dial(server))
  const send = conn.sendDatagram
  if (!send) return 'n/a'
  const payload = new Uint8Array(DATAGRAM_SIZE).fill(0x64)
  const kernelBefore = await udpRcvbufErrors()
  const statsBefore = await server.stats()
  const before = statsBefore.datagrams
  let sent = 0
  let sendErrors = 0
  let firstSendError: string | undefined
  const onError = (error: unknown): void => {
    sendErrors++
    firstSendError ??= errorText(error)
  }
  const t0 = performance.now()
  while (performance.now() - t0 < DATAGRAM_MS && !tracker.aborted) {
    // send() applies backpressure (it waits while the transport's queue is
    // full), so each batch is awaited: the rate is what the sender sustains.
    const batch: Promise<void>[] = []
    for (let i = 0; i < DATAGRAM_BATCH; i++) {
      sent++
      try {
        batch.push(send(payload).catch(onError))
      } catch (error) {
        onError(error)
      }
    }
    await Promise.all(batch)
    await yieldToLoop()
  }
  const seconds = (performance.now() - t0) / 1000
  // Let the last flights land before asking.
  await sleep(500)
  const statsAfter = await server.stats()
  const kernelAfter = await udpRcvbufErrors()
  const kernelDropped = kernelBefore === undefined || kernelAfter === undefined ? -1 : kernelAfter - kernelBefore
  const received = statsAfter.datagrams - before
  const appDropped = statsAfter.datagramsDropped < 0 ? -1 : statsAfter.datagramsDropped - statsBefore.datagramsDropped
  await tracker.closeOne(conn)
  return { kernelDropped, appDropped, sent, sendErrors, firstSendError, received, seconds, perSecond: received / seconds, ratio: received / sent }
}
