/**
 * The server that `effect-socket listen` opens: `SocketServer.make`, which dispatches on the
 * URI's scheme (`tcp://`, `tls://`, `unix://`, `fd://N`), after the command line's own shorthand.
 */
import * as SocketServer from "@effect-socket/node/SocketServer"
import type { Server } from "@effect-socket/socket/Server"
import type { ListenError } from "@effect-socket/socket/SocketError"
import type * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

/**
 * A bare port (`8080`) means `127.0.0.1:8080`, as for netcat's `-l 8080`; `SocketServer` itself
 * refuses a bare port, as ReactPHP's does.
 */
const expand = (uri: string) => (/^[0-9]+$/.test(uri) ? `127.0.0.1:${uri}` : uri)

/** The certificate of a `tls://` server, PEM-encoded: both in one file, or in two. */
export type Certificate =
  | { readonly pem: string }
  | { readonly cert: string; readonly key: string }

/**
 * Listens on `uri`: `tcp://IP:port`, `IP:port`, a bare port, `tls://IP:port` (with
 * `certificate`), `unix:///path` or `fd://N`.
 */
export const make = (uri: string, certificate?: Certificate): Effect.Effect<Server, ListenError, Scope.Scope> =>
  SocketServer.make(expand(uri), certificate === undefined ? {} : { tls: certificate })
