/**
 * Prometheus metrics of one relay, in a registry of its own (never the
 * process-global one), so several relays in one process do not collide.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client'

export class RelayMetrics {
  readonly registry = new Registry()
  readonly connections: Gauge<'transport'>
  readonly usersOnline: Gauge
  readonly messagesRouted: Counter
  readonly messagesDelivered: Counter
  readonly messagesQueued: Gauge
  readonly messagesDropped: Counter<'reason'>
  readonly rateLimited: Counter<'scope'>
  readonly loginFailures: Counter<'reason'>
  readonly logins: Counter
  readonly disconnects: Counter<'reason'>
  readonly errorsSent: Counter<'code'>
  readonly rooms: Gauge
  readonly commitSeconds: Histogram

  constructor() {
    const registers = [this.registry]
    this.connections = new Gauge({
      name: 'keypin_relay_connections',
      help: 'Open connections, by transport',
      labelNames: ['transport'],
      registers,
    })
    this.connections.set({ transport: 'quic' }, 0)
    this.connections.set({ transport: 'webrtc' }, 0)
    this.usersOnline = new Gauge({ name: 'keypin_relay_users_online', help: 'Users logged in', registers })
    this.messagesRouted = new Counter({
      name: 'keypin_relay_messages_routed_total',
      help: 'Messages accepted and stored for a recipient (one per recipient)',
      registers,
    })
    this.messagesDelivered = new Counter({
      name: 'keypin_relay_messages_delivered_total',
      help: 'Messages acknowledged by their recipient and deleted',
      registers,
    })
    this.messagesQueued = new Gauge({
      name: 'keypin_relay_messages_queued',
      help: 'Messages stored and not yet acknowledged',
      registers,
    })
    this.messagesDropped = new Counter({
      name: 'keypin_relay_messages_dropped_total',
      help: 'Messages refused or discarded, by reason',
      labelNames: ['reason'],
      registers,
    })
    this.rateLimited = new Counter({
      name: 'keypin_relay_rate_limited_total',
      help: 'Requests refused by a token bucket, by bucket',
      labelNames: ['scope'],
      registers,
    })
    this.loginFailures = new Counter({
      name: 'keypin_relay_login_failures_total',
      help: 'Connections that failed the hello or login, by reason',
      labelNames: ['reason'],
      registers,
    })
    this.logins = new Counter({ name: 'keypin_relay_logins_total', help: 'Successful logins', registers })
    this.disconnects = new Counter({
      name: 'keypin_relay_disconnects_total',
      help: 'Connections the relay closed, by reason',
      labelNames: ['reason'],
      registers,
    })
    this.errorsSent = new Counter({
      name: 'keypin_relay_error_frames_total',
      help: 'Error frames sent, by code',
      labelNames: ['code'],
      registers,
    })
    this.rooms = new Gauge({ name: 'keypin_relay_rooms', help: 'Open rooms', registers })
    this.commitSeconds = new Histogram({
      name: 'keypin_relay_store_commit_seconds',
      help: 'Time to commit one batch of writes',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    })
  }
}
