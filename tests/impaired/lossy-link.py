#!/usr/bin/env python3
"""
A point-to-point IP link with delay, loss and reordering, between two TUN
devices. It stands in for `tc netem` on kernels built without it: every IP
packet the kernel routes into one device is read here and, unless the link
drops it, written into the other device after the one-way delay.

Usage: lossy-link.py '<json config>'
  devices        [nameA, nameB]: TUN devices to create (IFF_TUN, no packet info)
  delay_ms       one-way delay, each direction
  loss           probability that a packet is dropped, each direction
  reorder        probability that a packet is held back an extra reorder_ms,
                 so packets sent after it overtake it
  reorder_ms     that extra delay
  seed           seed of the random choices (loss, reordering)

The devices exist while this process runs; the caller moves them into
network namespaces and configures them (the descriptors keep working).
Commands, one per line on stdin; each is answered by one JSON line on stdout:
  cut       drop every packet from now on, including those in flight
  restore   forward again
  stats     counters only
The process exits when stdin closes, which removes both devices.
"""
import fcntl
import heapq
import json
import os
import random
import select
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
MAX_PACKET = 65535


def open_tun(name):
    fd = os.open('/dev/net/tun', os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack('16sH', name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


def reply(message):
    sys.stdout.write(json.dumps(message) + '\n')
    sys.stdout.flush()


def main():
    config = json.loads(sys.argv[1])
    rng = random.Random(config['seed'])
    delay = config['delay_ms'] / 1000.0
    loss = config['loss']
    reorder = config['reorder']
    reorder_extra = config['reorder_ms'] / 1000.0
    name_a, name_b = config['devices']
    fd_a = open_tun(name_a)
    fd_b = open_tun(name_b)
    peer = {fd_a: fd_b, fd_b: fd_a}
    stdin = sys.stdin.fileno()
    os.set_blocking(stdin, False)

    counters = {'received': 0, 'forwarded': 0, 'lost': 0, 'reordered': 0, 'cut': 0, 'write_errors': 0}
    cut = False
    queue = []  # (due, sequence, destination fd, packet): a heap by due time
    sequence = 0
    pending_input = b''
    reply({'event': 'ready', 'pid': os.getpid()})

    while True:
        timeout = None
        if queue:
            timeout = max(0.0, queue[0][0] - time.monotonic())
        readable, _, _ = select.select([fd_a, fd_b, stdin], [], [], timeout)
        for fd in readable:
            if fd == stdin:
                chunk = os.read(stdin, 4096)
                if not chunk:
                    return
                pending_input += chunk
                while b'\n' in pending_input:
                    line, pending_input = pending_input.split(b'\n', 1)
                    command = line.decode().strip()
                    if command == 'cut':
                        cut = True
                        counters['cut'] += len(queue)
                        queue = []
                    elif command == 'restore':
                        cut = False
                    elif command != 'stats':
                        reply({'event': 'error', 'message': 'unknown command ' + command})
                        continue
                    reply({'event': command, 'cutting': cut, **counters})
                continue
            while True:
                try:
                    packet = os.read(fd, MAX_PACKET)
                except BlockingIOError:
                    break
                counters['received'] += 1
                if cut:
                    counters['cut'] += 1
                    continue
                if rng.random() < loss:
                    counters['lost'] += 1
                    continue
                due = time.monotonic() + delay
                if rng.random() < reorder:
                    counters['reordered'] += 1
                    due += reorder_extra
                sequence += 1
                heapq.heappush(queue, (due, sequence, peer[fd], packet))
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, destination, packet = heapq.heappop(queue)
            try:
                os.write(destination, packet)
                counters['forwarded'] += 1
            except OSError:
                # The device is down or its queue is full: the packet is lost.
                counters['write_errors'] += 1


if __name__ == '__main__':
    try:
        main()
    except KeyboardInterrupt:
        pass
