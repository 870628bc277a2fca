/**
 * Waiting for Ctrl-C or SIGTERM, for the long-running commands. The first
 * signal starts a clean shutdown; a second one, or a shutdown that hangs,
 * ends the process at once.
 */
import { EXIT_FAILURE, EXIT_INTERRUPTED } from './errors.js'

const SIGNALS = ['SIGINT', 'SIGTERM'] as const

/** Resolves with the first SIGINT or SIGTERM; from then on the next one exits immediately. */
export function shutdownRequested(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const first = (signal: NodeJS.Signals): void => {
      for (const name of SIGNALS) {
        process.off(name, first)
        process.once(name, () => process.exit(EXIT_INTERRUPTED))
      }
      resolve(signal)
    }
    for (const name of SIGNALS) process.on(name, first)
  })
}

/** Runs `close`, but exits the process with a failure if it takes longer than `ms`. */
export async function closeWithin(ms: number, close: () => Promise<void>, log: (line: string) => void): Promise<void> {
  const timer = setTimeout(() => {
    log(`shutdown did not finish within ${ms} ms; exiting`)
    process.exit(EXIT_FAILURE)
  }, ms)
  try {
    await close()
  } finally {
    clearTimeout(timer)
  }
}
