/**
 * The chat page: opens the identity, wires the views to the chat model and
 * keeps a relay connection up for the address in the URL's fragment.
 */
import { safetyCode, userIdOf } from '@keypin/relay'
import { addressFromHash, hashFor } from './address-hash.js'
import { ChatModel } from './chat.js'
import { RelayConnection, checkAddress, problemOf } from './connection.js'
import { ChatDatabase } from './identity-db.js'
import { IndexedDbStateStore } from './state-store.js'
import { ConnectionView } from './ui/connection-view.js'
import { ContactsView } from './ui/contacts-view.js'
import { ConversationView } from './ui/conversation-view.js'
import { byTestId } from './ui/dom.js'
import { showIdentity } from './ui/identity-view.js'
import { RoomsView } from './ui/rooms-view.js'

/** How often room expiry and the "expires in" labels are refreshed (ms). */
const TICK_MS = 30_000

async function main(): Promise<void> {
  const connectionView = new ConnectionView(document, {
    connect(address) {
      const hash = hashFor(address)
      // Changing the fragment starts the connection (hashchange); the same
      // address again means "connect now".
      if (location.hash !== hash) location.hash = hash
      else start(address)
    },
    retryNow: () => connection.retryNow(),
  })

  const db = await ChatDatabase.open()
  const identity = await db.loadOrCreateIdentity()
  const myId = userIdOf(identity.publicKey)
  showIdentity(document, myId, safetyCode(identity.publicKey))

  const model = new ChatModel(db, myId)
  const views = [new ContactsView(document, model), new RoomsView(document, model), new ConversationView(document, model)]
  model.subscribe(() => {
    for (const view of views) view.render()
  })
  for (const view of views) view.render()

  const connection = new RelayConnection({
    identity,
    storeFor: (certhash) => new IndexedDbStateStore(db, certhash),
    onStatus(status) {
      connectionView.show(status)
      if (status.state === 'connected') model.attach(status.client)
      else if (model.client) model.detach()
    },
  })

  let starting = 0
  function start(address: string): void {
    const run = ++starting
    connectionView.address = address
    const checked = checkAddress(address)
    if ('code' in checked) {
      connection.connect(address)
      return
    }
    // The rooms known for this relay are loaded before any event can arrive.
    connection.stop()
    model.load(checked.certhash).then(
      () => run === starting && connection.connect(address),
      () => run === starting && connection.connect(address),
    )
  }

  addEventListener('hashchange', () => {
    const address = addressFromHash(location.hash)
    if (address !== undefined) start(address)
  })
  addEventListener('online', () => connection.retryNow())
  setInterval(() => model.tick(), TICK_MS)

  const address = addressFromHash(location.hash) ?? (await addressFromServer())
  if (address === undefined) {
    connectionView.show({ state: 'idle' })
    byTestId<HTMLInputElement>(document, 'address-input').focus()
    return
  }
  if (location.hash === '') history.replaceState(null, '', hashFor(address))
  start(address)
}

/** The relay this page was served with, when the HTTP server tells (the chat demo's does). */
async function addressFromServer(): Promise<string | undefined> {
  try {
    const response = await fetch('/relay-address', { cache: 'no-store' })
    return response.ok ? (await response.text()).trim() : undefined
  } catch {
    return undefined
  }
}

main().catch((error: unknown) => {
  const problem = problemOf(error)
  byTestId(document, 'connection-problem').hidden = false
  byTestId(document, 'connection-error').textContent = `${problem.code}: ${problem.message}`
  byTestId(document, 'status').textContent = 'Not started'
})
