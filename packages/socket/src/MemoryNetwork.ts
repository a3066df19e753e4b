/**
 * An in-memory network for tests: servers listen on any address string and the `Connector`
 * reaches them, with no socket, port or file involved. Connections are `Connection.makePair`
 * pairs, so they have backpressure and half-close as TCP has. Each build of the layer is a
 * fresh, empty network.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { Connector } from "./Connector.js"
import * as internal from "./internal/memoryNetwork.js"
import type { Server } from "./Server.js"
import type { ListenError } from "./SocketError.js"

/**
 * Options of {@link listen}.
 *
 * @since 0.1.0
 * @category models
 */
export interface ListenOptions {
  /**
   * How many connections may wait to be taken from `connections`, a positive integer; default
   * `511` (Node's and ReactPHP's). While it is full, `connect` waits, as a client whose SYN the
   * kernel leaves unanswered. Any other value fails `listen` with `EINVAL`.
   */
  readonly backlog?: number | undefined
}

/**
 * Options of {@link layerWith}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * The high-water mark of every connection, in bytes, an integer of 0 or more (see
   * `Connection.makePair`); default `65536`. Building the layer with any other value dies with an
   * `IllegalArgumentException`.
   */
  readonly highWaterMark?: number | undefined
}

/**
 * @since 0.1.0
 * @category tags
 */
export class MemoryNetwork extends Context.Tag("@effect-socket/MemoryNetwork")<MemoryNetwork, {
  /**
   * Listens on `address`, any string: `host:port` URIs are keyed in one spelling
   * (`127.0.0.1:80` is `tcp://127.0.0.1:80`, as `Server.address` reports it; query and fragment
   * are ignored) and port `0` takes a free port from 49152–65535; anything else
   * (`memory://db`, `unix:///run/app.sock`) is matched verbatim. Fails with `EADDRINUSE` if the
   * address is taken, with `EINVAL` for a bad `backlog`. The server behaves as `Server` says: `connections` hands out one
   * connection per pull, in connect order, from a bounded backlog; `errors` never emits. Closing
   * the scope ends `connections`, closes every connection it accepted or holds, refuses waiting
   * and later clients (`ECONNREFUSED`) and frees the address.
   */
  readonly listen: (address: string, options?: ListenOptions) => Effect.Effect<Server, ListenError, Scope.Scope>
}>() {}

/**
 * Listens with the `MemoryNetwork` in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const listen = (
  address: string,
  options?: ListenOptions
): Effect.Effect<Server, ListenError, MemoryNetwork | Scope.Scope> =>
  Effect.flatMap(MemoryNetwork, (network) => network.listen(address, options))

/**
 * A fresh network: its `MemoryNetwork` to listen and a `Connector` that connects to its
 * listeners. `connect(uri)` keys `uri` as `listen` does and fails with
 * `Connection to tcp://127.0.0.1:80 failed: Connection refused (ECONNREFUSED)` (reason
 * `Failed`) when nobody listens there. It succeeds once the server's backlog has room, before
 * the server takes the connection, so the client may write first. The client's `localAddress`
 * is the server's scheme and host with an ephemeral port, or `memory://client-N` for other
 * addresses. Interrupting a waiting `connect` leaves nothing behind.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWith = (options?: Options): Layer.Layer<MemoryNetwork | Connector> =>
  Layer.effectContext(Effect.sync(() => {
    const network = internal.make(options)
    return Context.make(MemoryNetwork, MemoryNetwork.of({ listen: network.listen })).pipe(
      Context.add(Connector, Connector.of({ connect: network.connect }))
    )
  }))

/**
 * {@link layerWith} with the defaults.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<MemoryNetwork | Connector> = layerWith()
