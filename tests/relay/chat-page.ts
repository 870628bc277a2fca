/**
 * One user of the chat page: a Chromium with a fresh profile (so a fresh
 * identity in IndexedDB) driven through the page's data-testid controls,
 * as a person would: fill, click, read the DOM.
 */
import type { Locator, Page } from 'playwright-core'
import { openBrowser } from '../browser-harness.js'

type Browser = Awaited<ReturnType<typeof openBrowser>>

/** Long enough for a WebRTC handshake on a busy two-core machine. */
export const UI_TIMEOUT = 30_000

export class ChatPage {
  readonly page: Page
  readonly #browser: Browser
  readonly #log: string[] = []

  private constructor(browser: Browser) {
    this.#browser = browser
    this.page = browser.page
    this.page.on('console', (message) => this.#log.push(`${message.type()}: ${message.text()}`))
    this.page.on('pageerror', (error) => this.#log.push(`pageerror: ${error.message}`))
    // Revoking asks for confirmation; the user says yes.
    this.page.on('dialog', (dialog) => void dialog.accept())
  }

  static async open(url: string): Promise<ChatPage> {
    const browser = await openBrowser()
    const chat = new ChatPage(browser)
    await chat.page.goto(url)
    return chat
  }

  /** The page's console and errors, for failure messages. */
  log(): string {
    return this.#log.join('\n')
  }

  byTestId(id: string): Locator {
    return this.page.getByTestId(id)
  }

  async waitForStatus(state: 'connected' | 'connecting' | 'waiting' | 'failed' | 'idle' | RegExp, timeout = UI_TIMEOUT): Promise<void> {
    const status = this.byTestId('status')
    const wanted = typeof state === 'string' ? `^${state}$` : state.source
    await this.page
      .waitForFunction(
        ({ wanted }) => new RegExp(wanted).test(document.querySelector('[data-testid="status"]')?.getAttribute('data-state') ?? ''),
        { wanted },
        { timeout },
      )
      .catch(async (error: unknown) => {
        const shown = await status.textContent().catch(() => '?')
        const problem = await this.byTestId('connection-error').textContent().catch(() => '?')
        throw new Error(`status never became ${String(state)} (shows "${shown}", problem "${problem}")\n${this.log()}`, { cause: error })
      })
  }

  async myId(): Promise<string> {
    const id = this.byTestId('my-id')
    await this.page.waitForFunction(() => document.querySelector('[data-testid="my-id"]')?.textContent !== '…', undefined, { timeout: UI_TIMEOUT })
    return (await id.textContent()) ?? ''
  }

  async connectTo(address: string): Promise<void> {
    await this.byTestId('address-input').fill(address)
    await this.byTestId('connect-button').click()
  }

  async addContact(userId: string, name = ''): Promise<void> {
    await this.byTestId('contact-id-input').fill(userId)
    await this.byTestId('contact-name-input').fill(name)
    await this.byTestId('add-contact').click()
    await this.contactItem(userId).waitFor({ timeout: UI_TIMEOUT })
  }

  contactItem(userId: string): Locator {
    return this.page.locator(`[data-testid="contact-item"][data-user-id="${userId}"]`)
  }

  roomItem(roomId: string): Locator {
    return this.page.locator(`[data-testid="room-item"][data-room-id="${roomId}"]`)
  }

  async openContact(userId: string): Promise<void> {
    await this.contactItem(userId).click({ timeout: UI_TIMEOUT })
    await this.page.locator(`[data-testid="contact-user-id"]`, { hasText: userId }).waitFor({ timeout: UI_TIMEOUT })
  }

  async openRoom(roomId: string): Promise<void> {
    await this.roomItem(roomId).click({ timeout: UI_TIMEOUT })
    await this.page.locator('[data-testid="room-id"]', { hasText: roomId }).waitFor({ timeout: UI_TIMEOUT })
  }

  /** Types into the composer and clicks Send. */
  async send(text: string): Promise<void> {
    await this.byTestId('message-input').fill(text)
    await this.byTestId('send-button').click({ timeout: UI_TIMEOUT })
  }

  message(text: string, direction?: 'in' | 'out'): Locator {
    const selector = direction ? `[data-testid="message"][data-direction="${direction}"]` : '[data-testid="message"]'
    return this.page.locator(selector).filter({ has: this.page.getByTestId('message-text').getByText(text, { exact: true }) })
  }

  async waitForMessage(text: string, direction: 'in' | 'out' = 'in', timeout = UI_TIMEOUT): Promise<void> {
    await this.message(text, direction).waitFor({ timeout }).catch((error: unknown) => {
      throw new Error(`message "${text}" (${direction}) never showed\n${this.log()}`, { cause: error })
    })
  }

  /** Waits until the outgoing message shows `state` (sending, stored, delivered, failed). */
  async waitForState(text: string, state: string, timeout = UI_TIMEOUT): Promise<void> {
    const badge = this.message(text, 'out').locator(`[data-testid="message-state"][data-state="${state}"]`)
    await badge.waitFor({ timeout }).catch(async (error: unknown) => {
      const shown = await this.message(text, 'out').getByTestId('message-state').textContent().catch(() => '?')
      throw new Error(`message "${text}" never reached ${state} (shows "${shown}")\n${this.log()}`, { cause: error })
    })
  }

  async waitForNotice(pattern: RegExp, timeout = UI_TIMEOUT): Promise<void> {
    await this.byTestId('notice').filter({ hasText: pattern }).first().waitFor({ timeout })
  }

  /** The safety code shown for the open contact, once it has been worked out. */
  async contactSafetyCode(): Promise<string> {
    const shown = await this.page.waitForFunction(
      () => {
        const text = document.querySelector('[data-testid="contact-safety-code"]')?.textContent ?? ''
        return /^[0-9]+( [0-9]+)+$/.test(text) ? text : false
      },
      undefined,
      { timeout: UI_TIMEOUT },
    )
    return (await shown.jsonValue()) as string
  }

  async text(testId: string): Promise<string> {
    return ((await this.byTestId(testId).textContent({ timeout: UI_TIMEOUT })) ?? '').trim()
  }

  async close(): Promise<void> {
    await this.#browser.close()
  }
}
