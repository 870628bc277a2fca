/**
 * Batches the work that follows incoming packets and application writes.
 *
 * Node delivers each UDP datagram as its own 'message' callback, and libuv
 * reads many of them per loop turn. Processing streams and sending after each
 * one would mean one ACK per packet and one stream scan per packet; instead a
 * connection marks itself dirty and is serviced once, in the check phase right
 * after the poll phase that delivered the burst.
 *
 * The server's WebRTC loopback relays use the same pass to send a burst of
 * datagrams to node-datachannel back to back (see @keypin/server).
 */

export interface Flushable {
  flush(): void
}

const dirty = new Set<Flushable>()
let scheduled = false

function run(): void {
  scheduled = false
  // A flush may dirty other connections (or itself); they wait for the next turn.
  const batch = [...dirty]
  dirty.clear()
  for (const item of batch) item.flush()
}

export function scheduleFlush(item: Flushable): void {
  dirty.add(item)
  if (!scheduled) {
    scheduled = true
    setImmediate(run)
  }
}

export function cancelFlush(item: Flushable): void {
  dirty.delete(item)
}
