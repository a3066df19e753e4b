/**
 * Opens connections to Unix-domain socket paths, as ReactPHP's `UnixConnector`: `unix://` URIs
 * (or bare paths), including Linux abstract sockets (`unix://@name`).
 *
 * @since 0.1.0
 */
import type { Connection } from "@effect-socket/socket/Connection"
import { Connector } from "@effect-socket/socket/Connector"
import { ConnectError } from "@effect-socket/socket/SocketError"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { unixAddresses } from "./internal/addresses.js"
import { dialScoped } from "./internal/dial.js"
import type { Rule } from "@effect-socket/socket/internal/options"
import { invalidOption } from "@effect-socket/socket/internal/options"
import { parseUnixPath } from "./internal/unixPath.js"

/**
 * Options of {@link layerWith}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Bytes read ahead of the consumer before the socket is paused; default 65,536. */
  readonly readHighWaterMark?: number
}

/**
 * Connects to `unix:///abs/path.sock`, `unix://relative.sock`, a bare path or `unix://@name`.
 * The connection's `remoteAddress` is `unix://` and the path as given, its `localAddress` is
 * `None` (the client socket has no name), as in ReactPHP.
 *
 * Fails with `EINVAL` for another scheme, an empty path, a path longer than the platform
 * allows (107 bytes on Linux) or a bad option value, before opening a socket; with `Failed` and the system code
 * otherwise, naming the path:
 * `Connection to unix:///run/app.sock failed: No such file or directory (ENOENT)` when there is
 * no such file, `… failed: Connection refused (ECONNREFUSED)` when nobody listens on it.
 * Interrupting it destroys the socket. The connection belongs to the caller's scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const connect = (uri: string, options: Options = {}): Effect.Effect<Connection, ConnectError, Scope.Scope> =>
  Effect.flatMap(Effect.mapError(parseUnixPath(uri), ConnectError.invalidUri), (target) => {
    const invalid = invalidOption(options, { readHighWaterMark: "count" } satisfies Record<keyof Options, Rule>)
    if (invalid !== undefined) {
      return Effect.fail(new ConnectError({ reason: "Failed", uri: target.uri, code: "EINVAL", stage: "connect", detail: invalid }))
    }
    return dialScoped({
      uri: target.uri,
      connect: { path: target.nodePath },
      stage: "connect",
      addresses: unixAddresses({ remote: target.uri }),
      readHighWaterMark: options.readHighWaterMark
    })
  })

/**
 * A `Connector` for `unix://` paths with {@link Options}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWith = (options: Options): Layer.Layer<Connector> =>
  Layer.succeed(Connector, Connector.of({ connect: (uri) => connect(uri, options) }))

/**
 * A `Connector` for `unix://` paths with default options.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Connector> = layerWith({})
