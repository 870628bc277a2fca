/**
 * A few DOM helpers, so the views read as the markup they build. Text is
 * always set as text (never as HTML): everything shown may come from
 * another user.
 */
type Attributes = Record<string, string | number | boolean | undefined>
type Child = Node | string | false | undefined | null

/** Creates an element; `data-*`, `aria-*` and other attributes by name, `false`/`undefined` leave one out. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag)
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue
    element.setAttribute(name, value === true ? '' : String(value))
  }
  append(element, ...children)
  return element
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === false || child === undefined || child === null) continue
    parent.appendChild(typeof child === 'string' ? document.createTextNode(child) : child)
  }
}

/** Replaces an element's children. */
export function fill(parent: Element, ...children: Child[]): void {
  parent.replaceChildren()
  append(parent, ...children)
}

/** Looks an element up by its data-testid inside `root`; a missing one is a bug in the markup. */
export function byTestId<T extends HTMLElement = HTMLElement>(root: ParentNode, id: string): T {
  const element = root.querySelector<T>(`[data-testid="${id}"]`)
  if (!element) throw new Error(`the page has no element with data-testid="${id}"`)
  return element
}

export function time(at: number): string {
  return new Date(at).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
}

/** "in 59 min", "in 3 h", "in 2 days"; "ended" for the past. */
export function until(at: number, now = Date.now()): string {
  const ms = at - now
  if (ms <= 0) return 'ended'
  const minutes = Math.ceil(ms / 60_000)
  if (minutes < 60) return `in ${minutes} min`
  const hours = Math.round(minutes / 60)
  if (hours < 48) return `in ${hours} h`
  return `in ${Math.round(hours / 24)} days`
}

/** Runs an action from a form or button: disables it meanwhile and reports a failure in `errorLine`. */
export async function act(control: HTMLButtonElement | HTMLFormElement, errorLine: HTMLElement, action: () => Promise<unknown>): Promise<void> {
  const button = control instanceof HTMLFormElement ? control.querySelector<HTMLButtonElement>('button[type="submit"]') : control
  errorLine.textContent = ''
  if (button) button.disabled = true
  try {
    await action()
  } catch (error) {
    const code = (error as { code?: unknown }).code
    const message = error instanceof Error ? error.message : String(error)
    errorLine.textContent = typeof code === 'string' ? `${code}: ${message}` : message
  } finally {
    if (button) button.disabled = false
  }
}
