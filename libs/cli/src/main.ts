#!/usr/bin/env node
/**
 * The `keypin` command: picks the subcommand, runs it, and turns its outcome
 * into an exit status. Usage errors print the problem and a pointer to the
 * help (exit 2); failures print one line, `keypin <command>: <code>:
 * <message>` (exit 1).
 */
import { readFileSync } from 'node:fs'
import { EXIT_FAILURE, EXIT_OK, EXIT_USAGE, UsageError, describeFailure, type CommandName } from './errors.js'
import { flushed } from './output.js'
import { usageOf } from './usage.js'

type Runner = (args: string[]) => Promise<number>

/**
 * Each subcommand: parse (undefined = help wanted), then run. Modules load
 * on demand, so `keypin dial` does not pay for the server's certificate code.
 */
const COMMANDS: Record<CommandName, Runner> = {
  serve: async (args) => {
    const { parseServeArgs, serve } = await import('./serve.js')
    const options = parseServeArgs(args)
    return options === undefined ? printHelp('serve') : serve(options)
  },
  dial: async (args) => {
    const { dialCommand, parseDialArgs } = await import('./dial.js')
    const options = parseDialArgs(args)
    return options === undefined ? printHelp('dial') : dialCommand(options)
  },
  chat: async (args) => {
    const { chat, parseChatArgs } = await import('./chat.js')
    const options = parseChatArgs(args)
    return options === undefined ? printHelp('chat') : chat(options)
  },
}

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv
  if (first === undefined) {
    process.stderr.write(usageOf(undefined))
    return EXIT_USAGE
  }
  if (first === '-h' || first === '--help') return printHelp(undefined)
  if (first === 'help') return printHelp(isCommand(rest[0]) ? rest[0] : undefined)
  if (first === '-v' || first === '--version') {
    process.stdout.write(`${version()}\n`)
    return EXIT_OK
  }
  if (!isCommand(first)) {
    throw new UsageError(undefined, first.startsWith('-') ? `unknown option '${first}'` : `unknown command '${first}'`)
  }
  return COMMANDS[first](rest)
}

function isCommand(name: string | undefined): name is CommandName {
  return name !== undefined && Object.hasOwn(COMMANDS, name)
}

function printHelp(command: CommandName | undefined): number {
  process.stdout.write(usageOf(command))
  return EXIT_OK
}

function version(): string {
  const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8')
  return (JSON.parse(text) as { version: string }).version
}

/** Where a failure is reported: `keypin` or `keypin <command>`. */
function commandLabel(argv: string[]): string {
  return isCommand(argv[0]) ? `keypin ${argv[0]}` : 'keypin'
}

async function run(argv: string[]): Promise<never> {
  // A reader that goes away (`keypin dial ... | head`) is not an error of ours.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') process.stderr.write(`${commandLabel(argv)}: cannot write to stdout: ${describeFailure(error)}\n`)
    process.exit(error.code === 'EPIPE' ? EXIT_OK : EXIT_FAILURE)
  })
  let code: number
  try {
    code = await main(argv)
  } catch (error) {
    if (error instanceof UsageError) {
      const label = error.command === undefined ? 'keypin' : `keypin ${error.command}`
      process.stderr.write(`${label}: ${error.message}\nRun '${label} --help' for usage.\n`)
      code = EXIT_USAGE
    } else {
      process.stderr.write(`${commandLabel(argv)}: ${describeFailure(error)}\n`)
      code = EXIT_FAILURE
    }
  }
  await flushed(process.stdout)
  // Transports may keep timers or native handles alive; the command is done.
  process.exit(code)
}

await run(process.argv.slice(2))
