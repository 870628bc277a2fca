/**
 * The open conversation: who or what it is (a contact with their safety
 * code, or a room with its expiry, members and the creator's controls),
 * the messages and notices with each outgoing message's delivery state,
 * who is typing, and the composer.
 */
import type { ChatModel } from '../chat.js'
import { peerOf, shortId, type ConversationId, type Entry, type MessageEntry, type Room } from '../conversation.js'
import { act, byTestId, fill, h, time, until } from './dom.js'

const EXTEND_CHOICES: readonly (readonly [string, number])[] = [
  ['1 hour', 3_600_000],
  ['1 day', 86_400_000],
  ['7 days', 604_800_000],
]

export class ConversationView {
  readonly #model: ChatModel
  readonly #title: HTMLElement
  readonly #details: HTMLElement
  readonly #messages: HTMLElement
  readonly #typing: HTMLElement
  readonly #input: HTMLTextAreaElement
  readonly #send: HTMLButtonElement
  readonly #error: HTMLElement
  /** What the details show; they are rebuilt only when it changes, so their controls keep focus and choices. */
  #detailsShown = ''

  constructor(root: ParentNode, model: ChatModel) {
    this.#model = model
    this.#title = byTestId(root, 'conversation-title')
    this.#details = byTestId(root, 'conversation-details')
    this.#messages = byTestId(root, 'messages')
    this.#typing = byTestId(root, 'typing')
    this.#input = byTestId<HTMLTextAreaElement>(root, 'message-input')
    this.#send = byTestId<HTMLButtonElement>(root, 'send-button')
    this.#error = byTestId(root, 'conversation-error')
    const composer = byTestId<HTMLFormElement>(root, 'composer')

    composer.addEventListener('submit', (event) => {
      event.preventDefault()
      this.#submit()
    })
    this.#input.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault()
        composer.requestSubmit()
      }
    })
    this.#input.addEventListener('input', () => {
      const selected = model.selected
      if (selected && this.#input.value !== '') model.typing(selected)
    })
  }

  render(): void {
    const model = this.#model
    const selected = model.selected
    const peer = selected && peerOf(selected)
    const room = peer && peer.kind === 'room' ? model.room(peer.id) : undefined
    this.#renderHead(selected, room)
    this.#renderMessages(selected)
    const typing = selected ? model.typingIn(selected).map((user) => model.nameOf(user)) : []
    this.#typing.textContent = typing.length === 0 ? '' : `${typing.join(' and ')} ${typing.length === 1 ? 'is' : 'are'} typing…`
    const usable = selected !== undefined && !room?.closed
    this.#input.disabled = !usable
    this.#send.disabled = !usable || model.client === undefined
  }

  #submit(): void {
    const model = this.#model
    const selected = model.selected
    const text = this.#input.value.trim()
    if (!selected || text === '') return
    this.#error.textContent = ''
    if (!model.client) {
      this.#error.textContent = 'Not connected to the relay: the message was not sent.'
      return
    }
    this.#input.value = ''
    const peer = peerOf(selected)
    const sending = peer.kind === 'dm' ? model.sendDirect(peer.id, text) : model.sendRoom(peer.id, text)
    sending.catch((error: unknown) => {
      this.#error.textContent = error instanceof Error ? error.message : String(error)
    })
  }

  #renderHead(selected: ConversationId | undefined, room: Room | undefined): void {
    const model = this.#model
    const peer = selected && peerOf(selected)
    let shown: string
    if (!peer) shown = 'none'
    else if (room) shown = JSON.stringify([room, room.info.creator === model.myId, until(room.info.expiresAt)])
    else shown = JSON.stringify([peer.id, model.nameOf(peer.id), model.safetyCodeOf(peer.id), model.online(peer.id)])
    if (shown === this.#detailsShown) return
    this.#detailsShown = shown
    if (!peer) {
      this.#title.textContent = 'Pick a contact or a room'
      fill(this.#details)
    } else if (peer.kind === 'dm') {
      this.#renderContactHead(peer.id)
    } else if (room) {
      this.#renderRoomHead(room)
    }
  }

  #renderContactHead(userId: string): void {
    const model = this.#model
    const code = model.safetyCodeOf(userId)
    const online = model.online(userId)
    this.#title.textContent = model.nameOf(userId)
    fill(
      this.#details,
      h('span', {}, 'User id ', h('code', { 'data-testid': 'contact-user-id' }, userId)),
      h(
        'span',
        { title: 'The same code shows on their side when no one swapped your keys' },
        'Safety code ',
        h('code', { 'data-testid': 'contact-safety-code' }, code ?? (model.client ? 'loading…' : 'shown when connected')),
      ),
      online !== undefined && h('span', { 'data-testid': 'contact-presence' }, online ? 'online' : 'offline'),
    )
  }

  #renderRoomHead(room: Room): void {
    const model = this.#model
    const { info } = room
    const creator = info.creator === model.myId
    this.#title.textContent = `Room ${shortId(info.id)}`
    const error = h('span', { class: 'error', role: 'alert', 'data-testid': 'room-error' })
    const actions = h('span', { class: 'actions' })
    const button = (testId: string, label: string, kind: string, action: (control: HTMLButtonElement) => Promise<unknown>): HTMLButtonElement => {
      const control = h('button', { type: 'button', class: `small ${kind}`, 'data-testid': testId }, label)
      control.addEventListener('click', () => void act(control, error, () => action(control)))
      return control
    }
    if (room.closed) {
      actions.append(button('forget-room', 'Remove from list', 'secondary', () => model.forgetRoom(info.id)))
    } else {
      actions.append(button('leave-room', 'Leave', 'secondary', () => model.leaveRoom(info.id)))
      if (creator) {
        const choice = h(
          'select',
          { 'data-testid': 'extend-ttl', 'aria-label': 'Extend by' },
          ...EXTEND_CHOICES.map(([label, ms]) => h('option', { value: ms }, label)),
        )
        actions.append(
          choice,
          button('extend-room', 'Extend', 'secondary', () => model.extendRoom(info.id, Number(choice.value))),
          button('revoke-room', 'Revoke', 'danger', async () => {
            if (confirm('Revoke this room for every member? This cannot be undone.')) await model.revokeRoom(info.id)
          }),
        )
      }
    }
    const members = info.members.map((member) => model.nameOf(member)).join(', ')
    fill(
      this.#details,
      h('span', {}, 'Room id ', h('code', { 'data-testid': 'room-id' }, info.id)),
      h(
        'span',
        { 'data-testid': 'room-expires', 'data-expires-at': info.expiresAt, title: new Date(info.expiresAt).toLocaleString() },
        room.closed ? `Closed (${room.closed})` : `Expires ${until(info.expiresAt)}`,
      ),
      h('span', { 'data-testid': 'room-members', 'data-count': info.members.length, title: members }, `Members ${info.members.length}/${info.maxMembers}`),
      creator && h('span', { class: 'tag' }, 'you created it'),
      actions,
      error,
    )
  }

  #renderMessages(selected: ConversationId | undefined): void {
    const list = this.#messages
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40
    const entries = selected ? this.#model.conversation(selected).entries : []
    fill(list, ...entries.map((entry) => this.#entry(entry)))
    if (atBottom) list.scrollTop = list.scrollHeight
  }

  #entry(entry: Entry): HTMLElement {
    if (entry.kind === 'notice') {
      return h('li', { class: 'notice', 'data-testid': 'notice' }, `${time(entry.at)} · ${entry.text}`)
    }
    return h(
      'li',
      {
        class: entry.outgoing ? 'message mine' : 'message',
        'data-testid': 'message',
        'data-direction': entry.outgoing ? 'out' : 'in',
        'data-from': entry.from,
        'data-state': entry.state,
      },
      h(
        'div',
        { class: 'meta' },
        h('span', { class: 'author' }, this.#model.nameOf(entry.from)),
        h('time', { datetime: new Date(entry.sentAt).toISOString() }, time(entry.sentAt)),
        entry.outgoing && h('span', { class: 'state', 'data-testid': 'message-state', 'data-state': entry.state }, stateLabel(entry)),
      ),
      h('p', { class: 'text', 'data-testid': 'message-text' }, entry.text),
    )
  }
}

function stateLabel(entry: MessageEntry): string {
  const rooms = entry.recipients !== undefined && entry.recipients !== 1
  const count = rooms ? ` (${entry.deliveredTo ?? 0}/${entry.recipients})` : ''
  switch (entry.state) {
    case 'sending':
      return 'sending…'
    case 'stored':
      return entry.recipients === 0 ? 'stored (no one else in the room)' : `stored${count}`
    case 'delivered':
      return `delivered${count}`
    case 'failed':
      return `failed: ${entry.error ?? 'unknown error'}`
    default:
      return ''
  }
}
