/** The contact list and the form that adds a contact by user id. */
import type { ChatModel } from '../chat.js'
import { dmId } from '../conversation.js'
import { act, byTestId, fill, h } from './dom.js'

export class ContactsView {
  readonly #model: ChatModel
  readonly #list: HTMLElement

  constructor(root: ParentNode, model: ChatModel) {
    this.#model = model
    this.#list = byTestId(root, 'contact-list')
    const form = byTestId<HTMLFormElement>(root, 'add-contact-form')
    const idInput = byTestId<HTMLInputElement>(root, 'contact-id-input')
    const nameInput = byTestId<HTMLInputElement>(root, 'contact-name-input')
    const error = byTestId(root, 'contacts-error')
    form.addEventListener('submit', (event) => {
      event.preventDefault()
      void act(form, error, async () => {
        const contact = await model.addContact(idInput.value, nameInput.value)
        form.reset()
        model.select(dmId(contact.userId))
      })
    })
  }

  render(): void {
    const model = this.#model
    const items = model.contacts.map((contact) => {
      const id = dmId(contact.userId)
      const unread = model.conversation(id).unread
      const online = model.online(contact.userId)
      const button = h(
        'button',
        {
          type: 'button',
          'data-testid': 'contact-item',
          'data-user-id': contact.userId,
          'aria-current': model.selected === id ? 'true' : undefined,
          title: contact.userId,
        },
        h('span', {
          class: 'presence',
          'data-testid': 'contact-presence-dot',
          'data-online': online === undefined ? 'unknown' : String(online),
          role: 'img',
          'aria-label': online === undefined ? 'presence unknown' : online ? 'online' : 'offline',
        }),
        h('span', { class: 'label' }, model.nameOf(contact.userId)),
        unread > 0 && h('span', { class: 'badge', 'aria-label': `${unread} unread` }, String(unread)),
      )
      button.addEventListener('click', () => model.select(id))
      return h('li', {}, button)
    })
    fill(this.#list, ...(items.length > 0 ? items : [h('li', { class: 'help' }, 'No contacts yet.')]))
  }
}
