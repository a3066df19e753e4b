/**
 * The server facade, as ReactPHP's `SocketServer`: picks the server for a URI's scheme and
 * passes it the options of that scheme's group. It only assembles; each server does the work.
 *
 * @since 0.1.0
 */
import type { Server } from "@effect-socket/socket/Server"
import { InvalidUriError, ListenError } from "@effect-socket/socket/SocketError"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as FdServer from "./FdServer.js"
import * as TcpServer from "./TcpServer.js"
import * as TlsServer from "./TlsServer.js"
import * as UnixServer from "./UnixServer.js"

/**
 * Options of {@link make}, grouped per scheme as ReactPHP groups its context: `tcp` for
 * `host:port`, `tcp://` and the TCP side of `tls://`, `tls` for `tls://` (its certificate and
 * key are required there), `unix` for `unix://`, `fd` for `fd://N`. A group for another scheme
 * than the URI's is ignored.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  readonly tcp?: TcpServer.Options
  readonly tls?: TlsServer.Options
  readonly unix?: UnixServer.Options
  readonly fd?: FdServer.Options
}

/**
 * `A` when it has no keys beyond those of `Shape`, at any depth of nested option records;
 * otherwise every extra key is typed `never`, so that an unknown option fails to type-check even
 * when passed in a variable. Values that are not option records (arrays, `Uint8Array`/`Buffer`
 * PEM data, `Duration`s) are taken as they are: only a key whose shape is an object alone is
 * checked further.
 *
 * @since 0.1.0
 * @category models
 */
export type Exact<A, Shape> = {
  readonly [K in keyof A]: K extends keyof Shape
    ? A[K] extends ReadonlyArray<unknown> ? A[K]
    : [NonNullable<Shape[K]>] extends [object] ? A[K] extends object ? Exact<A[K], NonNullable<Shape[K]>> : A[K]
    : A[K]
    : never
}

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//

const withDetail = (detail: string | undefined) => (detail === undefined ? {} : { detail })

/**
 * Listens on `uri` with the server its scheme names:
 * - `127.0.0.1:8080`, `[::1]:8080`, `tcp://…`: `TcpServer` (port 0 picks a free port);
 * - `tls://127.0.0.1:8443`: `TlsServer` over `TcpServer`, with the `tls` options (a bad or
 *   missing certificate fails at once with reason `Tls`);
 * - `unix:///path.sock`, `unix://@name`: `UnixServer`;
 * - `fd://3`: `FdServer` on an inherited socket.
 *
 * Fails with `EINVAL` before anything is opened for a URI without a port (`127.0.0.1`), a bare
 * port (`8080`, `tcp://8080`: unlike `TcpServer`, the facade wants an address, as ReactPHP's),
 * a host name where an IP is required (`localhost:80`) or an unknown scheme; and as the chosen
 * server fails otherwise (`EADDRINUSE`, …). Closing the scope closes the server.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = <const O extends Options = Options>(
  uri: string,
  options?: O & Exact<O, Options>
): Effect.Effect<Server, ListenError, Scope.Scope> => {
  const groups: Options = options ?? {}
  const scheme = SCHEME.exec(uri)?.[1]?.toLowerCase() ?? "tcp"
  const missingHost = Effect.fail(ListenError.invalidUri(new InvalidUriError({ uri, problem: "Malformed", detail: "missing host" })))
  const barePort = (text: string) => /^(?:tcp:\/\/)?[0-9]+$/i.test(text)
  switch (scheme) {
    case "tcp":
      return barePort(uri) ? missingHost : TcpServer.make(uri, groups.tcp)
    case "tls": {
      const tcpUri = uri.replace(SCHEME, "tcp://")
      // The URI (named as given) is checked before the TLS options, both before anything listens.
      const checked = Effect.mapError(TcpServer.parseUri(tcpUri), (error) =>
        error.cause instanceof InvalidUriError
          ? ListenError.invalidUri(new InvalidUriError({ ...withDetail(error.cause.detail), uri, problem: error.cause.problem }))
          : error)
      return barePort(tcpUri)
        ? missingHost
        : Effect.zipRight(checked, TlsServer.listen(uri, TcpServer.make(tcpUri, groups.tcp), groups.tls ?? {}))
    }
    case "unix":
      return UnixServer.make(uri, groups.unix)
    case "fd":
      return FdServer.make(uri, groups.fd)
    default:
      return Effect.fail(
        ListenError.invalidUri(new InvalidUriError({ uri, problem: "UnsupportedScheme", detail: "expected tcp://, tls://, unix:// or fd://" }))
      )
  }
}
