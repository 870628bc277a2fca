/**
 * How the command reports failure: a usage error (bad flags, unknown
 * command; exit 2, with a pointer to the help) or a runtime failure (exit 1,
 * one line naming the KeypinError code). Nothing here prints; main.ts does.
 */
import { KeypinError } from '@keypin/core'

export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2
/** A second Ctrl-C during shutdown: 128 + SIGINT, as shells report it. */
export const EXIT_INTERRUPTED = 130

/** The subcommands. Where one is optional, `undefined` stands for `keypin` itself. */
export type CommandName = 'serve' | 'dial' | 'chat'

/** The command line was wrong; the message says how. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
  constructor(
    readonly command: CommandName | undefined,
    message: string,
  ) {
    super(message)
  }
}

/**
 * One line for a failure: `<code>: <message>` for a KeypinError (the code is
 * what scripts match on), `<name>: <message>` for anything else.
 */
export function describeFailure(error: unknown): string {
  if (error instanceof KeypinError) return `${error.code}: ${oneLine(error.message)}`
  if (error instanceof DOMException && error.name === 'TimeoutError') return `timeout: ${oneLine(error.message)}`
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code
    const label = typeof code === 'string' ? code : error.name
    return `${label}: ${oneLine(error.message)}`
  }
  return `error: ${oneLine(String(error))}`
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim()
}
