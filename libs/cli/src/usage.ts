/**
 * The help texts: `keypin --help` and `keypin <command> --help`. Kept in one
 * place so the flags they describe can be checked against the parsers.
 */
import type { CommandName } from './errors.js'

export const MAIN_USAGE = `usage: keypin <command> [options]

Key-pinned streams and datagrams over one UDP port.

commands:
  serve    run a listener: an echo server (default) or the messaging relay
  dial     netcat for a pinned address: stdin to one stream, the stream to stdout
  chat     a terminal chat client for a relay

options:
  -h, --help     show this help (also: keypin <command> --help)
  -v, --version  print the version

An address is <ip>:<port>:<certhash>, as printed by \`keypin serve\`.
`

export const SERVE_USAGE = `usage: keypin serve [--echo | --relay] [options]

Listens on one UDP port (QUIC and WebRTC) and prints the dialable address as
the first line on stdout; hints and connection logs go to stderr. Ctrl-C
(SIGINT) or SIGTERM shuts down cleanly.

modes:
  --echo              echo every stream (bytes, then EOF) and datagram (default)
  --relay             run the messaging relay (for \`keypin chat\`)

options:
  --host IP           address to bind (default 127.0.0.1; :: for every interface)
  --port PORT         UDP port (default 4242; 0 picks a free one)
  --identity FILE     TLS identity, created on first use and then reused, so the
                      address survives restarts
                      (default .keypin/echo-identity.pem or .keypin/relay-identity.pem)
  --db FILE           relay database (default .keypin/relay.db; --relay only)
  --http HOST:PORT    serve /metrics and /health over HTTP (--relay only)
  -h, --help          show this help
`

export const DIAL_USAGE = `usage: keypin dial ADDRESS [options]

Opens one stream to ADDRESS, copies stdin into it (ending the stream's write
half at end of input) and the stream's bytes to stdout. Exits 0 once both
directions have finished; on failure prints one line "keypin dial: <code>:
<message>" to stderr and exits 1.

options:
  --transport quic|webrtc   how to reach the server (default quic)
  --timeout MS              give up if no pinned connection within MS (default 10000)
  -h, --help                show this help

example:
  echo hello | keypin dial 127.0.0.1:4242:uEi...
`

export const CHAT_USAGE = `usage: keypin chat ADDRESS [options]

Connects to a relay started with \`keypin serve --relay\` and reads commands
from stdin, one per line (a terminal or a pipe).

options:
  --identity FILE   your user identity (Ed25519 secret, mode 0600), created on
                    first use (default .keypin/chat-identity.key); client state
                    is kept beside it in <name>.state.json
  --timeout MS      give up if no connection within MS (default 10000)
  -h, --help        show this help

commands:
  /dm USER text                              send a direct message
  /room create [ttl-minutes] [max-members]   create a room (default 60, 16)
  /room join ROOM | /room leave ROOM         join or leave a room
  /room extend ROOM minutes | /room revoke ROOM
  /say ROOM text                             send to a room
  /safety USER                               the safety code to compare with USER
  /help                                      list the commands
  /quit                                      leave (so does end of input)

Every line printed starts with a tag in brackets, e.g. "[dm] USER: text",
"[room] ROOM USER: text", "[receipt] ID delivered", "[error] code: message".
`

export function usageOf(command: CommandName | undefined): string {
  switch (command) {
    case 'serve':
      return SERVE_USAGE
    case 'dial':
      return DIAL_USAGE
    case 'chat':
      return CHAT_USAGE
    default:
      return MAIN_USAGE
  }
}
