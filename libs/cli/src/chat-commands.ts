/**
 * The chat's input language: one line, one command. This file only parses
 * (a line in, a typed command or a problem out); chat.ts carries commands
 * out. User and room ids are checked for shape only: whether they exist is
 * the relay's business.
 */

export const DEFAULT_ROOM_TTL_MINUTES = 60
export const DEFAULT_ROOM_MEMBERS = 16

export type ChatCommand =
  | { kind: 'dm'; to: string; text: string }
  | { kind: 'room-create'; ttlMinutes: number; maxMembers: number }
  | { kind: 'room-join' | 'room-leave' | 'room-revoke'; roomId: string }
  | { kind: 'room-extend'; roomId: string; ttlMinutes: number }
  | { kind: 'say'; roomId: string; text: string }
  | { kind: 'safety'; userId: string }
  | { kind: 'help' }
  | { kind: 'quit' }
  | { kind: 'nothing' }

export type ParsedLine = ChatCommand | { kind: 'invalid'; problem: string }

export const CHAT_HELP = [
  '/dm USER text                              send a direct message',
  '/room create [ttl-minutes] [max-members]   create a room (default 60 minutes, 16 members)',
  '/room join ROOM                            join a room',
  '/room leave ROOM                           leave a room',
  '/room extend ROOM minutes                  give your room more time',
  '/room revoke ROOM                          close your room for everyone',
  '/say ROOM text                             send to a room',
  '/safety USER                               the code to compare with USER (in person or by phone)',
  '/help                                      this list',
  '/quit                                      leave (end of input does too)',
] as const

/** A word: anything up to whitespace. Ids never contain spaces. */
const WORD_THEN_REST = /^(\S+)(?:\s+([\s\S]*))?$/

/**
 * Parses one input line. `isUserId` decides what counts as a user id (the
 * relay's own check, passed in so this file stays free of it).
 */
export function parseChatLine(line: string, isUserId: (value: string) => boolean): ParsedLine {
  const trimmed = line.trim()
  if (trimmed === '') return { kind: 'nothing' }
  if (!trimmed.startsWith('/')) return invalid('commands start with "/"; /help lists them')
  const [name, rest] = split(trimmed)
  switch (name) {
    case '/dm': {
      const [to, text] = split(rest)
      if (to === '') return invalid('usage: /dm USER text')
      if (!isUserId(to)) return invalid(`${JSON.stringify(to)} is not a user id`)
      if (text === '') return invalid('nothing to send: /dm USER text')
      return { kind: 'dm', to, text }
    }
    case '/say': {
      const [roomId, text] = split(rest)
      if (roomId === '' || text === '') return invalid('usage: /say ROOM text')
      return { kind: 'say', roomId, text }
    }
    case '/room':
      return parseRoom(rest)
    case '/safety': {
      const words = wordsOf(rest)
      if (words.length !== 1) return invalid('usage: /safety USER')
      const userId = words[0] as string
      if (!isUserId(userId)) return invalid(`${JSON.stringify(userId)} is not a user id`)
      return { kind: 'safety', userId }
    }
    case '/help':
      return { kind: 'help' }
    case '/quit':
    case '/exit':
      return { kind: 'quit' }
    default:
      return invalid(`unknown command ${JSON.stringify(name)}; /help lists them`)
  }
}

function parseRoom(rest: string): ParsedLine {
  const [action = '', ...args] = wordsOf(rest)
  switch (action) {
    case 'create': {
      if (args.length > 2) return invalid('usage: /room create [ttl-minutes] [max-members]')
      const ttlMinutes = args[0] === undefined ? DEFAULT_ROOM_TTL_MINUTES : wholeNumber(args[0])
      const maxMembers = args[1] === undefined ? DEFAULT_ROOM_MEMBERS : wholeNumber(args[1])
      if (ttlMinutes === undefined) return invalid(`ttl-minutes must be a positive whole number, got ${JSON.stringify(args[0])}`)
      if (maxMembers === undefined) return invalid(`max-members must be a positive whole number, got ${JSON.stringify(args[1])}`)
      return { kind: 'room-create', ttlMinutes, maxMembers }
    }
    case 'join':
    case 'leave':
    case 'revoke': {
      if (args.length !== 1) return invalid(`usage: /room ${action} ROOM`)
      const kind = action === 'join' ? 'room-join' : action === 'leave' ? 'room-leave' : 'room-revoke'
      return { kind, roomId: args[0] as string }
    }
    case 'extend': {
      if (args.length !== 2) return invalid('usage: /room extend ROOM minutes')
      const ttlMinutes = wholeNumber(args[1] as string)
      if (ttlMinutes === undefined) return invalid(`minutes must be a positive whole number, got ${JSON.stringify(args[1])}`)
      return { kind: 'room-extend', roomId: args[0] as string, ttlMinutes }
    }
    default:
      return invalid('usage: /room create|join|leave|extend|revoke ...')
  }
}

function invalid(problem: string): ParsedLine {
  return { kind: 'invalid', problem }
}

/** The first word and the rest of the text (inner spacing kept), both '' when absent. */
function split(text: string): [string, string] {
  const match = WORD_THEN_REST.exec(text)
  return match ? [match[1] as string, match[2] ?? ''] : ['', '']
}

function wordsOf(text: string): string[] {
  return text.split(/\s+/).filter((word) => word !== '')
}

function wholeNumber(text: string): number | undefined {
  if (!/^[0-9]+$/.test(text)) return undefined
  const value = Number(text)
  return Number.isSafeInteger(value) && value > 0 ? value : undefined
}
