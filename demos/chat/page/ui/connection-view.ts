/**
 * The header: the relay address form, the connection status (with a
 * countdown while waiting to retry) and the last connection problem, with
 * a hint at what it usually means.
 */
import type { ConnectionStatus, ProblemInfo } from '../connection.js'
import { byTestId } from './dom.js'

export interface ConnectionViewActions {
  connect(address: string): void
  retryNow(): void
}

export class ConnectionView {
  readonly #form: HTMLFormElement
  readonly #input: HTMLInputElement
  readonly #status: HTMLElement
  readonly #retry: HTMLButtonElement
  readonly #problem: HTMLElement
  readonly #error: HTMLElement
  readonly #hint: HTMLElement
  #current: ConnectionStatus = { state: 'idle' }
  #countdown: ReturnType<typeof setInterval> | undefined

  constructor(root: ParentNode, actions: ConnectionViewActions) {
    this.#form = byTestId<HTMLFormElement>(root, 'connect-form')
    this.#input = byTestId<HTMLInputElement>(root, 'address-input')
    this.#status = byTestId(root, 'status')
    this.#retry = byTestId<HTMLButtonElement>(root, 'retry-now')
    this.#problem = byTestId(root, 'connection-problem')
    this.#error = byTestId(root, 'connection-error')
    this.#hint = byTestId(root, 'connection-hint')
    this.#form.addEventListener('submit', (event) => {
      event.preventDefault()
      actions.connect(this.#input.value.trim())
    })
    this.#retry.addEventListener('click', () => actions.retryNow())
  }

  set address(value: string) {
    this.#input.value = value
  }

  show(status: ConnectionStatus): void {
    this.#current = status
    clearInterval(this.#countdown)
    this.#countdown = undefined
    if (status.state === 'waiting') this.#countdown = setInterval(() => this.#render(), 1000)
    this.#render()
  }

  #render(): void {
    const status = this.#current
    this.#status.dataset.state = status.state
    this.#status.textContent = describeStatus(status)
    this.#retry.hidden = status.state !== 'waiting'
    const problem = status.state === 'failed' || status.state === 'waiting' ? status.problem : status.state === 'connecting' ? status.lastProblem : undefined
    this.#problem.hidden = problem === undefined
    this.#error.textContent = problem ? `${problem.code}: ${problem.message}` : ''
    this.#hint.textContent = problem ? hintFor(problem) : ''
  }
}

function describeStatus(status: ConnectionStatus): string {
  switch (status.state) {
    case 'idle':
      return 'Not connected'
    case 'connecting':
      return status.attempt > 1 ? `Connecting… (attempt ${status.attempt})` : 'Connecting…'
    case 'connected':
      return 'Connected'
    case 'waiting': {
      const seconds = Math.max(0, Math.ceil((status.retryAt - Date.now()) / 1000))
      return `Reconnecting in ${seconds} s (attempt ${status.attempt})`
    }
    case 'failed':
      return 'Not connected'
  }
}

/** What a problem usually means, in the user's terms. */
export function hintFor(problem: ProblemInfo): string {
  switch (problem.code) {
    case 'invalid-address':
    case 'invalid-certhash':
      return 'Check the address: it has the form <ip>:<port>:<certhash>, exactly as the relay printed it.'
    case 'timeout':
      return 'No answer from the relay: it may be down or unreachable, or the certhash in the address may not be this relay\'s. Retrying.'
    case 'pin-mismatch':
      return 'The server at this address presented a different certificate than the certhash names: this is not the relay you meant to reach.'
    case 'network-error':
      return 'The network path to the relay failed. Retrying.'
    case 'closed':
    case 'none':
      return 'The relay closed the connection. Retrying.'
    case 'shutting-down':
      return 'The relay is shutting down or restarting. Retrying.'
    default:
      return 'Retrying.'
  }
}
