/**
 * The `Connector` service opens connections by URI, as ReactPHP's `ConnectorInterface`.
 * Every connector (TCP, TLS, Unix, DNS, Happy Eyeballs, timeout, fixed URI) is a `Layer` that
 * provides it; decorators require the `Connector` they wrap and are composed with
 * `Layer.provide`. A test double is `Layer.succeed(Connector, Connector.of({ connect }))`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { Connection } from "./Connection.js"
import type { ConnectError } from "./SocketError.js"

/**
 * @since 0.1.0
 * @category tags
 */
export class Connector extends Context.Tag("@effect-socket/Connector")<Connector, {
  /**
   * Opens a connection to `uri` (`tcp://127.0.0.1:80`, `tls://example.com:443`,
   * `unix:///run/app.sock`, …). The connection belongs to the caller's `Scope`. Fails with a
   * {@link ConnectError}; interrupting it releases every socket, timer and query it opened.
   */
  readonly connect: (uri: string) => Effect.Effect<Connection, ConnectError, Scope.Scope>
}>() {}

/**
 * Opens a connection with the `Connector` in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const connect = (uri: string): Effect.Effect<Connection, ConnectError, Connector | Scope.Scope> =>
  Effect.flatMap(Connector, (c) => c.connect(uri))
