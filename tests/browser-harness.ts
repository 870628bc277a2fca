/**
 * Drives Debian's Chromium with playwright-core for the browser tests: a
 * tiny HTTP server hands the page the self-contained client bundle
 * (@keypin/webrtc-client's dist/browser.js), and each test runs its scenario
 * inside the page against a real listener. No browser is downloaded.
 */
import { createServer, type Server } from 'node:http'
import { readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFile } from 'node:child_process'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { runScenario, type ScenarioName, type ScenarioOptions, type ScenarioResult } from './scenarios.js'

const BUNDLE = new URL('../../libs/webrtc-client/dist/browser.js', import.meta.url)
export const CHROMIUM = process.env.KEYPIN_CHROMIUM ?? '/usr/bin/chromium'

/** Flags that keep Debian's Chromium quiet, offline and able to use loopback for WebRTC. */
const FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  // Chromium leaves loopback interfaces out of ICE unless told otherwise.
  '--allow-loopback-in-peer-connection',
]

export interface BrowserSession {
  page: Page
  origin: string
  /** Loads a fresh page, which ends everything the old one was running (peer connections included). */
  reload(): Promise<void>
  close(): Promise<void>
}

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM)
}

/** The browser's own version line, e.g. "Chromium 156.0.8078.79 built on Debian ..." (the page's user agent hides the minor numbers). */
export function chromiumVersion(): Promise<string> {
  return new Promise((resolve) => {
    execFile(CHROMIUM, ['--version'], { timeout: 10_000 }, (error, stdout) => {
      resolve(error ? 'Chromium (version unknown)' : (stdout.split('\n')[0] ?? '').trim())
    })
  })
}

/**
 * Runs one shared scenario inside the page, with the bundle's dial() and the
 * given handshake (the bundle's default when omitted). The scenario's source
 * is shipped into the page, so it runs exactly as written in scenarios.ts.
 */
export async function runScenarioInPage(
  session: BrowserSession,
  name: ScenarioName,
  address: string,
  options: ScenarioOptions & { handshake?: string } = {},
): Promise<ScenarioResult> {
  const { handshake, ...scenarioOptions } = options
  return session.page.evaluate(
    async ({ source, name, address, handshake, scenarioOptions }) => {
      const bundle = (await import(`${location.origin}/browser.js`)) as {
        dial: (address: string, options?: object) => Promise<unknown>
      }
      const run = new Function(`return (${source})`)() as (n: string, d: unknown, a: string, o: object) => Promise<ScenarioResult>
      const dial = (a: string, o?: object): Promise<unknown> => bundle.dial(a, handshake === undefined ? o : { ...o, handshake })
      return run(name, dial, address, scenarioOptions)
    },
    { source: runScenario.toString(), name, address, handshake, scenarioOptions },
  )
}

/** Launches Chromium with a fresh profile and opens a page that can import the bundle as /browser.js. */
export async function openBrowser(extraFlags: string[] = []): Promise<BrowserSession> {
  const bundle = await readFile(BUNDLE)
  const http: Server = createServer((request, response) => {
    if (request.url === '/browser.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' })
      response.end(bundle)
    } else {
      response.writeHead(200, { 'content-type': 'text/html' })
      response.end('<!doctype html><title>keypin test</title>')
    }
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  const address = http.address()
  const port = typeof address === 'object' && address ? address.port : 0
  const origin = `http://127.0.0.1:${port}`
  const profile = await mkdtemp(join(tmpdir(), 'keypin-chromium-'))
  let context: BrowserContext | undefined
  let browser: Browser | undefined
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...FLAGS, ...extraFlags],
    })
    browser = context.browser() ?? undefined
    const page = context.pages()[0] ?? (await context.newPage())
    await page.goto(origin)
    return {
      page,
      origin,
      async reload() {
        await page.goto('about:blank')
        await page.goto(origin)
      },
      async close() {
        await context?.close().catch(() => {})
        await browser?.close().catch(() => {})
        await new Promise<void>((resolve) => http.close(() => resolve()))
        await rm(profile, { recursive: true, force: true })
      },
    }
  } catch (error) {
    await context?.close().catch(() => {})
    http.close()
    await rm(profile, { recursive: true, force: true })
    throw error
  }
}
