/**
 * A Node user of the relay over QUIC, recording every event it gets so a
 * test can wait for the one it expects.
 */
import { dial } from '@keypin/quic-client'
import { parseAddress } from '@keypin/core'
import { connectRelay, generateIdentity, type RelayClient, type RelayEvents } from '@keypin/relay'

type EventName = keyof RelayEvents

export interface RecordedEvent<K extends EventName = EventName> {
  name: K
  event: RelayEvents[K]
}

export class NodeUser {
  readonly client: RelayClient
  readonly #events: RecordedEvent[] = []
  readonly #waiters = new Set<() => void>()

  private constructor(client: RelayClient) {
    this.client = client
    const names: EventName[] = ['direct', 'room', 'receipt', 'presence', 'typing', 'member-joined', 'member-left', 'room-closed', 'rejected', 'close']
    for (const name of names) {
      client.on(name, (event) => {
        this.#events.push({ name, event } as RecordedEvent)
        for (const wake of this.#waiters) wake()
      })
    }
  }

  static async connect(address: string): Promise<NodeUser> {
    const connection = await dial(address, { signal: AbortSignal.timeout(15_000) })
    const client = await connectRelay(connection, {
      identity: generateIdentity(),
      certhash: parseAddress(address).certhash,
      signal: AbortSignal.timeout(15_000),
    })
    return new NodeUser(client)
  }

  /** Resolves with the first recorded (or future) `name` event that matches. */
  waitFor<K extends EventName>(name: K, match: (event: RelayEvents[K]) => boolean, timeout = 30_000): Promise<RelayEvents[K]> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.#events.find((recorded) => recorded.name === name && match(recorded.event as RelayEvents[K]))
        if (!found) return false
        cleanup()
        resolve(found.event as RelayEvents[K])
        return true
      }
      const timer = setTimeout(() => {
        cleanup()
        const seen = this.#events.map((recorded) => `${recorded.name} ${JSON.stringify(recorded.event)}`).join('\n')
        reject(new Error(`no matching "${name}" event within ${timeout} ms; events so far:\n${seen}`))
      }, timeout)
      const wake = (): void => void check()
      const cleanup = (): void => {
        clearTimeout(timer)
        this.#waiters.delete(wake)
      }
      this.#waiters.add(wake)
      check()
    })
  }

  async close(): Promise<void> {
    await this.client.close().catch(() => {})
  }
}
