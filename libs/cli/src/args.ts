/**
 * Command-line parsing: node:util parseArgs in strict mode, with its errors
 * turned into UsageErrors, and the value checks every subcommand shares
 * (ports, durations, HOST:PORT pairs). Values are checked here, at the
 * boundary, so the commands only ever see well-formed input.
 */
import { isIP } from 'node:net'
import { UsageError, type CommandName } from './errors.js'

/**
 * Runs a node:util parseArgs call (strict, as every command uses it) and turns
 * its complaints (an unknown flag, a missing value, a value given to a
 * boolean) into a UsageError for `command`.
 *
 * @example
 * const { values } = withUsageErrors('dial', () => parseArgs({ args, options, strict: true }))
 */
export function withUsageErrors<R>(command: CommandName | undefined, parse: () => R): R {
  try {
    return parse()
  } catch (error) {
    const code = (error as { code?: unknown }).code
    if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS_') && error instanceof Error) {
      throw new UsageError(command, firstSentence(error.message))
    }
    throw error
  }
}

/** Node's messages go on to explain `--`; the first sentence is the useful part. */
function firstSentence(message: string): string {
  const end = message.indexOf('. ')
  return end === -1 ? message : message.slice(0, end + 1)
}

/** Exactly `names.length` positionals, else a UsageError naming what is missing or extra. */
export function expectPositionals(command: CommandName, positionals: string[], names: readonly string[]): string[] {
  if (positionals.length < names.length) {
    throw new UsageError(command, `missing ${names.slice(positionals.length).join(' ')}`)
  }
  if (positionals.length > names.length) {
    const extra = positionals.slice(names.length).map((value) => JSON.stringify(value))
    throw new UsageError(command, `unexpected argument${extra.length > 1 ? 's' : ''} ${extra.join(' ')}`)
  }
  return positionals
}

/** A UDP/TCP port, 0-65535 (0 asks the system for a free one). */
export function parsePort(command: CommandName, flag: string, text: string): number {
  if (!/^[0-9]{1,5}$/.test(text) || Number(text) > 65535) {
    throw new UsageError(command, `${flag} must be a port number from 0 to 65535, got ${JSON.stringify(text)}`)
  }
  return Number(text)
}

/** A whole number from 1 to `max`. */
export function parsePositiveInteger(command: CommandName, flag: string, text: string, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^[0-9]+$/.test(text) || Number(text) < 1 || Number(text) > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? 'a positive whole number' : `a whole number from 1 to ${max}`
    throw new UsageError(command, `${flag} must be ${range}, got ${JSON.stringify(text)}`)
  }
  return Number(text)
}

/** The longest --timeout: ten minutes, as long as any transport's handshake may take. */
export const MAX_TIMEOUT_MS = 600_000

/** A --timeout in milliseconds, 1 to {@link MAX_TIMEOUT_MS}. */
export function parseTimeout(command: CommandName, text: string): number {
  return parsePositiveInteger(command, '--timeout', text, MAX_TIMEOUT_MS)
}

/** An IP literal (a hostname would make the bind depend on a resolver). */
export function parseHost(command: CommandName, flag: string, text: string): string {
  if (isIP(text) === 0) throw new UsageError(command, `${flag} must be an IP address, got ${JSON.stringify(text)}`)
  return text
}

/** `HOST:PORT`, with an IPv6 host in brackets: `127.0.0.1:9090`, `[::1]:9090`. */
export function parseHostPort(command: CommandName, flag: string, text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):([^:]+)$/.exec(text)
  if (!match) {
    throw new UsageError(command, `${flag} must be HOST:PORT (IPv6 in brackets), got ${JSON.stringify(text)}`)
  }
  const bracketed = match[1]
  const host = bracketed ?? (match[2] as string)
  if (isIP(host) !== (bracketed === undefined ? 4 : 6)) {
    throw new UsageError(command, `${flag} must name an IP address, got ${JSON.stringify(text)}`)
  }
  return { host, port: parsePort(command, flag, match[3] as string) }
}

/** One of `choices`, else a UsageError listing them. */
export function parseChoice<const C extends readonly string[]>(
  command: CommandName,
  flag: string,
  text: string,
  choices: C,
): C[number] {
  if (!choices.includes(text)) {
    throw new UsageError(command, `${flag} must be one of ${choices.join(', ')}, got ${JSON.stringify(text)}`)
  }
  return text
}
