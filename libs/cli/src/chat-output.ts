/**
 * What the chat prints: one line per event, each starting with a tag in
 * brackets (`[dm]`, `[room]`, `[receipt]`, ...) so people can scan it and
 * programs can parse it, and a printer that keeps a terminal's prompt and
 * half-typed line intact while lines arrive.
 *
 * Every line is made safe to print as a whole, since peers control much of
 * it (message text, ids, reasons): control characters and bidirectional
 * overrides are shown escaped, so a message can neither move the cursor,
 * recolour the terminal, nor forge a second line.
 */
import { clearLine, cursorTo, type Interface } from 'node:readline'

/** C0 and C1 controls, DEL, and the Unicode bidi embeddings, overrides and isolates. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g

/** `text` with every unsafe character written as `\u{…}` (newlines too: one message, one line). */
export function printable(text: string): string {
  return text.replace(UNSAFE, (char) => `\\u{${(char.codePointAt(0) as number).toString(16)}}`)
}

export interface RoomSummary {
  readonly id: string
  readonly creator: string
  readonly expiresAt: number
  readonly maxMembers: number
  readonly members: readonly string[]
}

export const format = {
  me: (userId: string) => `[me] ${userId}`,
  mySafetyCode: (code: string) => `[me] safety code ${code}`,
  direct: (from: string, text: string) => `[dm] ${from}: ${text}`,
  room: (roomId: string, from: string, text: string) => `[room] ${roomId} ${from}: ${text}`,
  sent: (id: string, state: string) => `[sent] ${id} ${state}`,
  sentRoom: (roomId: string, recipients: number) => `[sent] room ${roomId} to ${recipients} member${recipients === 1 ? '' : 's'}`,
  receipt: (id: string, state: string) => `[receipt] ${id} ${state}`,
  presence: (userId: string, online: boolean) => `[presence] ${userId} ${online ? 'online' : 'offline'}`,
  typing: (from: string, roomId?: string) => `[typing] ${from}${roomId === undefined ? '' : ` in ${roomId}`}`,
  roomInfo: (tag: 'room-created' | 'room-joined' | 'room-extended', room: RoomSummary) =>
    `[${tag}] ${room.id} expires=${isoTime(room.expiresAt)} max=${room.maxMembers} ` +
    `creator=${room.creator} members=${room.members.join(',')}`,
  roomLeft: (roomId: string) => `[room-left] ${roomId}`,
  roomRevoked: (roomId: string) => `[room-revoked] ${roomId}`,
  memberJoined: (roomId: string, userId: string) => `[joined] ${roomId} ${userId}`,
  memberLeft: (roomId: string, userId: string) => `[left] ${roomId} ${userId}`,
  roomClosed: (roomId: string, reason: string) => `[room-closed] ${roomId} ${reason}`,
  rejected: (id: string, from: string, reason: string) => `[rejected] ${id} from ${from}: ${reason}`,
  safety: (userId: string, code: string) => `[safety] ${userId} ${code}`,
  help: (line: string) => `[help] ${line}`,
  error: (description: string) => `[error] ${description}`,
  closed: (description: string) => `[closed] ${description}`,
} as const

/** A timestamp in ms as ISO 8601, or as it is when it is not a valid time. */
function isoTime(ms: number): string {
  const date = new Date(ms)
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString()
}

/**
 * Prints whole lines to stdout. On a terminal with a prompt, the prompt and
 * whatever the user has typed so far are redrawn below each printed line.
 */
export class LinePrinter {
  #prompt: Interface | undefined

  /** Redraw `prompt` (a terminal readline) after every line from now on. */
  attach(prompt: Interface): void {
    this.#prompt = prompt
  }

  detach(): void {
    this.#prompt = undefined
  }

  print(line: string): void {
    const safe = printable(line)
    const prompt = this.#prompt
    if (prompt === undefined) {
      process.stdout.write(`${safe}\n`)
      return
    }
    clearLine(process.stdout, 0)
    cursorTo(process.stdout, 0)
    process.stdout.write(`${safe}\n`)
    prompt.prompt(true)
  }
}
