/** "You": the user's id (with a copy button) and their own safety code. */
import { byTestId } from './dom.js'

export function showIdentity(root: ParentNode, userId: string, safetyCode: string): void {
  byTestId(root, 'my-id').textContent = userId
  byTestId(root, 'my-safety-code').textContent = safetyCode
  const copy = byTestId<HTMLButtonElement>(root, 'copy-my-id')
  copy.onclick = () => {
    navigator.clipboard.writeText(userId).then(
      () => flash(copy, 'Copied'),
      () => flash(copy, 'Copy failed'),
    )
  }
}

function flash(button: HTMLButtonElement, text: string): void {
  button.textContent = text
  setTimeout(() => (button.textContent = 'Copy'), 1500)
}
