/**
 * Things worth a second look during a bench run (failed streams in the server
 * child, rejected sends, uncaught errors, the watchdog firing); printed under
 * the table. Any module of the parent may add to it.
 */
export const oddities: string[] = []
