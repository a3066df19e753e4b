/**
 * A `Connector` decorator that always connects to one preconfigured URI, whatever URI it is
 * asked for, as ReactPHP's `FixedUriConnector`: useful when a higher-level client insists on a
 * `host:port` but the service listens on, say, `unix:///var/run/docker.sock`.
 *
 * @since 0.1.0
 */
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import { Connector } from "./Connector.js"

/**
 * Wraps a connector so that every `connect(anything)` becomes `connect(uri)`. Errors are the
 * wrapped connector's, and so name the fixed URI.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withFixedUri: {
  (uri: string): (connector: Context.Tag.Service<Connector>) => Context.Tag.Service<Connector>
  (connector: Context.Tag.Service<Connector>, uri: string): Context.Tag.Service<Connector>
} = dual(
  2,
  (connector: Context.Tag.Service<Connector>, uri: string): Context.Tag.Service<Connector> =>
    Connector.of({ connect: () => connector.connect(uri) })
)

/**
 * A layer that decorates the `Connector` it requires with {@link withFixedUri}:
 * `FixedUriConnector.layer("unix:///var/run/docker.sock").pipe(Layer.provide(UnixConnector.layer))`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (uri: string): Layer.Layer<Connector, never, Connector> =>
  Layer.effect(Connector, Effect.map(Connector, withFixedUri(uri)))
