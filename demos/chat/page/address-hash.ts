/**
 * The relay address travels in the page URL's fragment, `#/<address>`,
 * which browsers never send to the HTTP server. Colons stay readable;
 * brackets (IPv6) and anything else unusual are percent-encoded.
 */
export function hashFor(address: string): string {
  return `#/${encodeURIComponent(address).replaceAll('%3A', ':')}`
}

/** The address in a fragment, or undefined when the fragment holds none. */
export function addressFromHash(hash: string): string | undefined {
  if (!hash.startsWith('#/')) return undefined
  const raw = hash.slice(2)
  try {
    return decodeURIComponent(raw)
  } catch {
    // Not valid percent-encoding: hand it over as typed, the address parser will say what is wrong.
    return raw
  }
}
