/**
 * Unit tests of the WebRTC flow-control arithmetic (src/webrtc/credit.ts):
 * send credit, receive windows and their re-grant rules, and the count of
 * streams the peer may open. No peers, no channels.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
// Internal to the package (not exported): imported from the build.
import { IncomingStreamLimit, ReceiveWindow, SendCredit } from '../dist/webrtc/credit.js'

describe('SendCredit', () => {
  it('starts at its initial limit and counts what is used', () => {
    const credit = new SendCredit(100)
    assert.equal(credit.available, 100)
    credit.use(60)
    assert.equal(credit.available, 40)
    assert.equal(credit.used, 60)
  })

  it('only ever grows: stale or reordered limits are ignored', () => {
    const credit = new SendCredit(100)
    assert.equal(credit.raise(250), true)
    assert.equal(credit.raise(200), false)
    assert.equal(credit.raise(250), false)
    assert.equal(credit.limit, 250)
  })

  it('never reports negative room', () => {
    const credit = new SendCredit(0)
    credit.use(10)
    assert.equal(credit.available, 0)
  })
})

describe('ReceiveWindow', () => {
  it('refuses bytes beyond the announced limit, recording nothing', () => {
    const window = new ReceiveWindow(100)
    assert.equal(window.receive(60), true)
    assert.equal(window.receive(41), false)
    assert.equal(window.received, 60)
    assert.equal(window.receive(40), true)
    assert.equal(window.buffered, 100)
  })

  it('grants consumed + window once half the window is consumed', () => {
    // The sender keeps half a window of credit in hand throughout, so only
    // the consumption rule can fire.
    const window = new ReceiveWindow(100)
    window.receive(40)
    assert.equal(window.consume(30), undefined)
    window.receive(10)
    // 50 consumed: the unconsumed part of the limit is down to half.
    assert.equal(window.consume(20), 150)
    assert.equal(window.limit, 150)
    assert.equal(window.consume(0), undefined)
  })

  it('keeps what it buffers within the window', () => {
    const window = new ReceiveWindow(64)
    let granted = window.limit
    for (let i = 0; i < 1000; i++) {
      const amount = 1 + (i % 13)
      if (window.received + amount > granted) {
        assert.equal(window.receive(amount), false)
        continue
      }
      assert.equal(window.receive(amount), true)
      assert.ok(window.buffered <= 64)
      const update = window.consume(i % 3 === 0 ? amount : 0)
      if (update !== undefined) {
        assert.ok(update > granted)
        assert.equal(update, window.consumed + 64)
        granted = update
      }
    }
  })

  it('grants as soon as anything is consumed when the sender is starved', () => {
    // A shared connection window: 70 bytes parked where nobody reads them.
    const window = new ReceiveWindow(100)
    window.receive(30)
    assert.equal(window.consume(30), undefined)
    window.receive(70)
    // The sender has used all credit; half the window was consumed long ago,
    // but not since: no grant yet would help the sender...
    assert.equal(window.update(), 130)
    // ...and with nothing more consumed there is nothing more to give.
    assert.equal(window.update(), undefined)
    window.receive(30)
    assert.equal(window.update(), undefined)
    assert.equal(window.consume(5), 135)
  })

  it('clamps consumption to what was received', () => {
    const window = new ReceiveWindow(100)
    window.receive(10)
    window.consume(50)
    assert.equal(window.consumed, 10)
  })
})

describe('IncomingStreamLimit', () => {
  it('refuses streams beyond the limit', () => {
    const limit = new IncomingStreamLimit(2)
    assert.equal(limit.open(), true)
    assert.equal(limit.open(), true)
    assert.equal(limit.open(), false)
    assert.equal(limit.opened, 2)
  })

  it('raises the limit as streams finish, once at most half the window is left', () => {
    const limit = new IncomingStreamLimit(4)
    limit.open()
    assert.equal(limit.finish(), undefined) // 3 of 4 still free
    limit.open()
    limit.open()
    assert.equal(limit.update(), 5) // 1 free: finished (1) + window (4)
    assert.equal(limit.finish(), 6)
    assert.equal(limit.limit, 6)
  })

  it('grants every finished stream back with a window of one', () => {
    const limit = new IncomingStreamLimit(1)
    assert.equal(limit.open(), true)
    assert.equal(limit.open(), false)
    assert.equal(limit.finish(), 2)
    assert.equal(limit.open(), true)
  })

  it('with a window of zero never lets the peer open a stream', () => {
    const limit = new IncomingStreamLimit(0)
    assert.equal(limit.open(), false)
    assert.equal(limit.update(), undefined)
  })
})
