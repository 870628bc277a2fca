/**
 * The shared client scenarios over QUIC from Node: the reference column the
 * WebRTC clients are held to.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { dial } from '@keypin/quic-client'
import { startScenarioServer, type ScenarioServer } from './scenario-server.js'
import { SCENARIOS, runScenario } from './scenarios.js'

let server: ScenarioServer
before(async () => {
  server = await startScenarioServer()
})
after(() => server.close())

for (const name of SCENARIOS) {
  test(`QUIC from Node: ${name}`, { timeout: 30_000 }, async () => {
    const result = await runScenario(name, dial, server.listener.address)
    assert.ok(result.ok, result.detail)
  })
}
