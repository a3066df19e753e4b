/**
 * The `Connector` that `effect-socket connect` uses, assembled from its flags. It routes by
 * scheme as ReactPHP's `Connector` does (`tcp://` is the default). This module stands in for
 * `NodeConnector.layer(options)` until that facade exists.
 */
import { Connector } from "@effect-socket/socket/Connector"
import { ConnectError } from "@effect-socket/socket/SocketError"
import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//

/** The URI's scheme, lower-cased; `tcp` when it has none (`127.0.0.1:80`). */
export const schemeOf = (uri: string): string => SCHEME.exec(uri)?.[1]?.toLowerCase() ?? "tcp"

/** A connector that hands each URI to the connector of its scheme, or fails with `NoConnector`. */
const byScheme = (routes: Readonly<Record<string, Connector["Type"]>>): Connector["Type"] =>
  Connector.of({
    connect: (uri) => {
      const scheme = schemeOf(uri)
      const route = routes[scheme]
      return route === undefined
        ? Effect.fail(
          new ConnectError({
            reason: "NoConnector",
            uri,
            code: "EINVAL",
            detail: `No connector available for URI scheme "${scheme}"`
          })
        )
        : route.connect(uri)
    }
  })

/** Builds `layer` in the enclosing scope and takes its connector out. */
const service = (layer: Layer.Layer<Connector>) => Effect.map(Layer.build(layer), Context.get(Connector))

/** The connector for the flags of `connect`. */
export const layer: Layer.Layer<Connector> =
  Layer.scoped(
    Connector,
    Effect.gen(function*() {
      const tcp = yield* service(TcpConnector.layer)
      return byScheme({ tcp })
    })
  )
