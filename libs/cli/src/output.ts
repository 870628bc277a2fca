/**
 * Writing to stdout with backpressure, and making sure it has all been
 * handed to the operating system before the process exits.
 */

/** Writes `chunk`; resolves when stdout can take more. */
export function writeStdout(chunk: Uint8Array | string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error)
    process.stdout.once('error', onError)
    const ready = process.stdout.write(chunk, (error) => {
      if (error) reject(error)
    })
    const done = (): void => {
      process.stdout.off('error', onError)
      resolve()
    }
    if (ready) done()
    else process.stdout.once('drain', done)
  })
}

/** Resolves once everything written to `stream` so far has been flushed. */
export function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || stream.writableEnded) return resolve()
    stream.write('', () => resolve())
  })
}
