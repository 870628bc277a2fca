/**
 * The shared scenarios from Node over WebRTC (node-datachannel), against the
 * same kind of listener the browsers dial.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { dial } from '@keypin/webrtc-client'
import { startScenarioServer, type ScenarioServer } from './scenario-server.js'
import { SCENARIOS, runScenario } from './scenarios.js'

let server: ScenarioServer
before(async () => {
  server = await startScenarioServer()
})
after(() => server.close())

for (const name of SCENARIOS) {
  test(`Node over WebRTC: ${name}`, { timeout: 60_000 }, async () => {
    const result = await runScenario(name, dial, server.listener.address)
    assert.ok(result.ok, result.detail)
  })
}
