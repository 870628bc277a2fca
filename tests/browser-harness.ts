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
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'

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
  close(): Promise<void>
}

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM)
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
