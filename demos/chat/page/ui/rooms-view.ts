/** The room list and the forms that create a room or join one by id. */
import type { ChatModel } from '../chat.js'
import { roomConversationId, shortId } from '../conversation.js'
import { act, byTestId, fill, h } from './dom.js'

export class RoomsView {
  readonly #model: ChatModel
  readonly #list: HTMLElement

  constructor(root: ParentNode, model: ChatModel) {
    this.#model = model
    this.#list = byTestId(root, 'room-list')
    const error = byTestId(root, 'rooms-error')

    const create = byTestId<HTMLFormElement>(root, 'create-room-form')
    const ttl = byTestId<HTMLSelectElement>(root, 'room-ttl')
    const maxMembers = byTestId<HTMLInputElement>(root, 'room-max-members')
    create.addEventListener('submit', (event) => {
      event.preventDefault()
      void act(create, error, async () => {
        const info = await model.createRoom(Number(ttl.value), Number(maxMembers.value))
        model.select(roomConversationId(info.id))
      })
    })

    const join = byTestId<HTMLFormElement>(root, 'join-room-form')
    const roomId = byTestId<HTMLInputElement>(root, 'room-id-input')
    join.addEventListener('submit', (event) => {
      event.preventDefault()
      void act(join, error, async () => {
        const info = await model.joinRoom(roomId.value)
        join.reset()
        model.select(roomConversationId(info.id))
      })
    })
  }

  render(): void {
    const model = this.#model
    const items = model.rooms.map((room) => {
      const id = roomConversationId(room.info.id)
      const unread = model.conversation(id).unread
      const button = h(
        'button',
        {
          type: 'button',
          'data-testid': 'room-item',
          'data-room-id': room.info.id,
          'aria-current': model.selected === id ? 'true' : undefined,
          title: room.info.id,
        },
        h('span', { class: 'label' }, `Room ${shortId(room.info.id)}`),
        room.closed && h('span', { class: 'tag' }, room.closed),
        unread > 0 && h('span', { class: 'badge', 'aria-label': `${unread} unread` }, String(unread)),
      )
      button.addEventListener('click', () => model.select(id))
      return h('li', {}, button)
    })
    fill(this.#list, ...(items.length > 0 ? items : [h('li', { class: 'help' }, 'No rooms yet.')]))
  }
}
