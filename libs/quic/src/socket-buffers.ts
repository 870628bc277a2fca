/**
 * Larger kernel buffers for a UDP socket carrying QUIC. The default receive
 * buffer (about 208 KiB on Linux) overflows during a burst of full-size
 * packets, and every overflow is a loss that congestion control pays for.
 * Best effort: the kernel caps the size (net.core.rmem_max / wmem_max).
 */
import type { Socket } from 'node:dgram'

export const UDP_BUFFER_SIZE = 4 * 1024 * 1024

export function enlargeSocketBuffers(socket: Socket, size = UDP_BUFFER_SIZE): void {
  for (const set of [socket.setRecvBufferSize, socket.setSendBufferSize]) {
    try {
      set.call(socket, size)
    } catch {
      // Refused by the platform: keep its default.
    }
  }
}
