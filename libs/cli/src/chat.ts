/**
 * `keypin chat`: a terminal client for a relay. It dials the relay over
 * QUIC, logs in with the user's Ed25519 identity (a 0600 file, created on
 * first use), then runs one command per input line and prints one tagged
 * line per event (chat-output.ts). Input may be a terminal or a pipe; the
 * chat ends at /quit, at end of input, or when the relay connection ends.
 */
import { extname } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { KeypinError, parseAddress } from '@keypin/core'
import {
  IDENTITY_SECRET_KEY_LENGTH,
  connectRelay,
  generateIdentity,
  identityFromSecret,
  isUserId,
  type RelayClient,
} from '@keypin/relay'
import { expectPositionals, parseTimeout, withUsageErrors } from './args.js'
import { CHAT_HELP, parseChatLine, type ChatCommand } from './chat-commands.js'
import { LinePrinter, format } from './chat-output.js'
import { connect } from './dial.js'
import { EXIT_OK, UsageError, describeFailure } from './errors.js'
import { loadOrCreateSecretFile } from './identity-file.js'
import { FileStateStore } from './state-file.js'

const DEFAULT_IDENTITY = '.keypin/chat-identity.key'
const DEFAULT_TIMEOUT_MS = 10_000
const MINUTE_MS = 60_000

export interface ChatOptions {
  address: string
  identityFile: string
  timeoutMs: number
}

/** Parses `keypin chat` arguments; `undefined` means help was asked for. */
export function parseChatArgs(args: string[]): ChatOptions | undefined {
  const { values, positionals } = withUsageErrors('chat', () =>
    parseArgs({
      args,
      strict: true,
      allowPositionals: true,
      options: {
        identity: { type: 'string' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  )
  if (values.help) return undefined
  const [address] = expectPositionals('chat', positionals, ['ADDRESS']) as [string]
  if (values.identity === '') throw new UsageError('chat', '--identity must not be empty')
  return {
    address,
    identityFile: values.identity ?? DEFAULT_IDENTITY,
    timeoutMs: values.timeout === undefined ? DEFAULT_TIMEOUT_MS : parseTimeout('chat', values.timeout),
  }
}

/** The client state lives beside the identity: `chat.key` → `chat.state.json`. */
export function stateFileFor(identityFile: string): string {
  const extension = extname(identityFile)
  return `${extension === '' ? identityFile : identityFile.slice(0, -extension.length)}.state.json`
}

export async function chat(options: ChatOptions): Promise<number> {
  const { certhash } = parseAddress(options.address)
  const secret = await loadOrCreateSecretFile(options.identityFile, () => generateIdentity().secretKey)
  if (secret.length !== IDENTITY_SECRET_KEY_LENGTH) {
    const found = `${secret.length} bytes`
    throw new KeypinError('identity-error', `identity file ${JSON.stringify(options.identityFile)} holds ${found}; an Ed25519 secret is ${IDENTITY_SECRET_KEY_LENGTH}`)
  }
  const identity = identityFromSecret(secret)
  const store = await FileStateStore.open(stateFileFor(options.identityFile))
  // One deadline for dialing and logging in together.
  const deadline = Date.now() + options.timeoutMs
  const connection = await connect(options.address, 'quic', options.timeoutMs)
  const login = new AbortController()
  const timer = setTimeout(
    () => login.abort(new KeypinError('timeout', `no relay login at ${options.address} within ${options.timeoutMs} ms`)),
    Math.max(deadline - Date.now(), 0),
  )
  let client: RelayClient
  try {
    // Never aborted once connected: for the client that would mean "close".
    client = await connectRelay(connection, { identity, certhash, store, signal: login.signal })
  } catch (error) {
    await connection.close().catch(() => {})
    throw login.signal.aborted ? login.signal.reason : error
  } finally {
    clearTimeout(timer)
  }
  try {
    return await converse(client)
  } finally {
    await client.close().catch(() => {})
    await connection.close().catch(() => {})
  }
}

/** Runs commands from stdin until /quit, end of input, or the relay's end. */
async function converse(client: RelayClient): Promise<number> {
  const printer = new LinePrinter()
  const print = (line: string): void => printer.print(line)
  const terminal = process.stdin.isTTY === true && process.stdout.isTTY === true
  const input = createInterface({ input: process.stdin, output: terminal ? process.stdout : undefined, terminal })

  print(format.me(client.userId))
  print(format.mySafetyCode(client.safetyCode))
  const unsubscribe = subscribe(client, print)

  let relayEnded = false
  let failure: Error | undefined
  const offClose = client.on('close', ({ error }) => {
    relayEnded = true
    failure = error
    print(format.closed(error === undefined ? 'the relay closed the connection' : describeFailure(error)))
    input.close() // ends the loop below
  })

  if (terminal) {
    printer.attach(input)
    input.setPrompt('> ')
    print('[help] type /help for the commands')
  }
  try {
    for await (const line of input) {
      const parsed = parseChatLine(line, isUserId)
      if (parsed.kind === 'quit') break
      if (parsed.kind === 'invalid') print(format.error(`usage: ${parsed.problem}`))
      else await perform(client, parsed, print)
      if (relayEnded) break
      if (terminal) input.prompt()
    }
  } finally {
    printer.detach()
    input.close()
    unsubscribe()
    offClose()
  }
  // Also on stderr, as every failure of the command is.
  if (failure !== undefined) throw failure
  return EXIT_OK
}

/** Prints every event the client reports; returns the unsubscriber. */
function subscribe(client: RelayClient, print: (line: string) => void): () => void {
  const offs = [
    client.on('direct', ({ from, text }) => print(format.direct(from, text))),
    client.on('room', ({ roomId, from, text }) => print(format.room(roomId, from, text))),
    client.on('receipt', ({ id, state }) => print(format.receipt(id, state))),
    client.on('presence', ({ userId, online }) => print(format.presence(userId, online))),
    client.on('typing', ({ from, roomId }) => print(format.typing(from, roomId))),
    client.on('member-joined', ({ roomId, userId }) => print(format.memberJoined(roomId, userId))),
    client.on('member-left', ({ roomId, userId }) => print(format.memberLeft(roomId, userId))),
    client.on('room-closed', ({ roomId, reason }) => print(format.roomClosed(roomId, reason))),
    client.on('rejected', ({ id, from, reason }) => print(format.rejected(id, from, reason))),
  ]
  return () => {
    for (const off of offs) off()
  }
}

/** Carries out one command; a failure is printed, not thrown: the chat goes on. */
async function perform(client: RelayClient, command: ChatCommand, print: (line: string) => void): Promise<void> {
  try {
    switch (command.kind) {
      case 'dm': {
        const { id, state } = await client.sendDirect(command.to, command.text)
        print(format.sent(id, state))
        return
      }
      case 'say': {
        const results = await client.sendRoom(command.roomId, command.text)
        print(format.sentRoom(command.roomId, results.length))
        return
      }
      case 'room-create':
        print(format.roomInfo('room-created', await client.createRoom({ ttlMs: command.ttlMinutes * MINUTE_MS, maxMembers: command.maxMembers })))
        return
      case 'room-join':
        print(format.roomInfo('room-joined', await client.joinRoom(command.roomId)))
        return
      case 'room-extend':
        print(format.roomInfo('room-extended', await client.extendRoom(command.roomId, command.ttlMinutes * MINUTE_MS)))
        return
      case 'room-leave':
        await client.leaveRoom(command.roomId)
        print(format.roomLeft(command.roomId))
        return
      case 'room-revoke':
        await client.revokeRoom(command.roomId)
        print(format.roomRevoked(command.roomId))
        return
      case 'safety':
        print(format.safety(command.userId, await client.contactSafetyCode(command.userId)))
        return
      case 'help':
        for (const line of CHAT_HELP) print(format.help(line))
        return
      case 'quit':
      case 'nothing':
        return
    }
  } catch (error) {
    print(format.error(describeFailure(error)))
  }
}
