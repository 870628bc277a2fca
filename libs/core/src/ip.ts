/**
 * IP literal validation for Keypin addresses.
 *
 * Each check returns either the parsed value or a sentence saying what is
 * wrong, so address errors can name the exact problem. Only literal syntax is
 * checked: no DNS, no zone ids, no scope or routability judgements. Internal
 * to the package; the public predicates live in address.ts.
 */

export type IpCheck<T> = { ok: true; value: T } | { ok: false; problem: string }

const DECIMAL_OCTET = /^[0-9]{1,3}$/
const HEX_GROUP = /^[0-9A-Fa-f]{1,4}$/

/** Parses a dotted-quad IPv4 literal into its four octets. */
export function checkIPv4(host: string): IpCheck<number[]> {
  const parts = host.split('.')
  if (parts.length !== 4) {
    return fail(`${JSON.stringify(host)} has ${parts.length} dot-separated parts; an IPv4 address has 4`)
  }
  const octets: number[] = []
  for (const part of parts) {
    if (part === '') return fail(`${JSON.stringify(host)} has an empty octet`)
    if (!DECIMAL_OCTET.test(part)) return fail(`octet ${JSON.stringify(part)} in ${JSON.stringify(host)} is not a decimal number 0-255`)
    // A leading zero is rejected because some parsers read it as octal.
    if (part.length > 1 && part.startsWith('0')) {
      return fail(`octet ${JSON.stringify(part)} in ${JSON.stringify(host)} has a leading zero`)
    }
    const value = Number(part)
    if (value > 255) return fail(`octet ${part} in ${JSON.stringify(host)} is out of range 0-255`)
    octets.push(value)
  }
  return { ok: true, value: octets }
}

/**
 * Parses an IPv6 literal (without brackets) into its eight 16-bit groups.
 * Accepts one `::` and a trailing embedded IPv4; rejects zone ids.
 */
export function checkIPv6(host: string): IpCheck<number[]> {
  const shown = JSON.stringify(host)
  if (host.includes('%')) return fail(`IPv6 address ${shown} has a zone id; zone ids are not accepted`)
  const halves = host.split('::')
  if (halves.length > 2) return fail(`IPv6 address ${shown} has more than one "::"`)
  const compressed = halves.length === 2
  const head = splitGroups(halves[0] as string)
  const tail = compressed ? splitGroups(halves[1] as string) : []

  const groups: number[][] = [[], []]
  const sides = [head, tail]
  for (let side = 0; side < 2; side++) {
    const texts = sides[side] as string[]
    for (let i = 0; i < texts.length; i++) {
      const text = texts[i] as string
      // Only the very last group of the whole address may be dotted IPv4.
      const isLastOverall = i === texts.length - 1 && (side === 1 || !compressed)
      if (text.includes('.')) {
        if (!isLastOverall) return fail(`IPv6 address ${shown} has embedded IPv4 ${JSON.stringify(text)} before its end`)
        const v4 = checkIPv4(text)
        if (!v4.ok) return fail(`IPv6 address ${shown} has an invalid embedded IPv4: ${v4.problem}`)
        const [a, b, c, d] = v4.value as [number, number, number, number]
        groups[side]?.push((a << 8) | b, (c << 8) | d)
        continue
      }
      if (text === '') return fail(`IPv6 address ${shown} has an empty group (a stray ":")`)
      if (!HEX_GROUP.test(text)) {
        const why = /^[0-9A-Fa-f]+$/.test(text) ? 'more than 4 hex digits' : 'not hexadecimal'
        return fail(`IPv6 address ${shown} has group ${JSON.stringify(text)}, which is ${why}`)
      }
      groups[side]?.push(Number.parseInt(text, 16))
    }
  }

  const [left, right] = groups as [number[], number[]]
  const count = left.length + right.length
  if (!compressed) {
    if (count !== 8) return fail(`IPv6 address ${shown} has ${count} groups; without "::" it needs 8`)
    return { ok: true, value: left }
  }
  // "::" stands for at least one zero group, so at most 7 may be written.
  if (count > 7) return fail(`IPv6 address ${shown} has ${count} groups plus "::"; at most 7 fit with "::"`)
  return { ok: true, value: [...left, ...new Array<number>(8 - count).fill(0), ...right] }
}

/** The dotted quad inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), if it is one. */
export function mappedIPv4(groups: readonly number[]): string | undefined {
  const isMapped = groups.length === 8 && groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff
  if (!isMapped) return undefined
  const high = groups[6] as number
  const low = groups[7] as number
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.')
}

/** Splits one side of a `::` into group texts; an empty side has no groups. */
function splitGroups(side: string): string[] {
  return side === '' ? [] : side.split(':')
}

function fail(problem: string): { ok: false; problem: string } {
  return { ok: false, problem }
}
