/**
 * A connector decorator that resolves host names, as ReactPHP's `DnsConnector`: it asks the
 * `Resolver` for the name's A records, connects the inner `Connector` to the first address and
 * adds `hostname=<name>` to the URI (what TLS uses for SNI and certificate checks). URIs whose
 * host is an IP literal go straight through. IPv4 only: for names with IPv6 addresses, see
 * {@link HappyEyeballsConnector}.
 *
 * @since 0.1.0
 */
import type * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import { Connector } from "./Connector.js"
import * as internal from "./internal/resolvedUri.js"
import { failOnInterrupt } from "./internal/interrupt.js"
import { Resolver } from "./Resolver.js"
import { ConnectError, DnsError } from "./SocketError.js"
import * as SocketUri from "./SocketUri.js"

/**
 * Wraps a connector so that it resolves the URI's host with `resolver` (A records) and connects
 * to the first address, e.g. `tcp://example.com:80` → `tcp://93.184.215.14:80?hostname=example.com`
 * (`hostname` is kept if the URI has one). Errors:
 * - a malformed URI: `EINVAL` before any query;
 * - the lookup fails: `Connection to tcp://example.com:80 failed during DNS lookup: …` (reason
 *   `Failed`, stage `DNS lookup`, the `DnsError`'s code, the `DnsError` as `cause`);
 * - the inner connect fails: its error with the original URI, its message nested as ReactPHP
 *   does: `Connection to tcp://example.com:80 failed: Connection to tcp://93.184.215.14:80 failed: Connection refused (ECONNREFUSED)`.
 *
 * Interrupting it during the lookup cancels the query; during the connect, interrupts the inner
 * connector, which closes its socket. Either way its exit holds a `Cancelled` error
 * (`Connection to tcp://example.com:80 cancelled during DNS lookup (ECONNABORTED)`, or without
 * the stage once connecting).
 *
 * @since 0.1.0
 * @category combinators
 */
export const withResolver: {
  (resolver: Context.Tag.Service<Resolver>): (connector: Context.Tag.Service<Connector>) => Context.Tag.Service<Connector>
  (connector: Context.Tag.Service<Connector>, resolver: Context.Tag.Service<Resolver>): Context.Tag.Service<Connector>
} = dual(2, (
  connector: Context.Tag.Service<Connector>,
  resolver: Context.Tag.Service<Resolver>
): Context.Tag.Service<Connector> =>
  Connector.of({
    connect: (input) =>
      Effect.flatMap(internal.parse(input), (uri) => {
        if (SocketUri.isIP(uri.host)) return connector.connect(input)
        const original = SocketUri.format(uri)
        let resolved = false
        const lookupThenConnect = resolver.resolve(uri.host, 4).pipe(
          Effect.filterOrFail(
            (addresses) => addresses.length > 0,
            () => new DnsError({ reason: "NoData", host: uri.host, family: 4, code: "ENODATA", detail: "No A records" })
          ),
          Effect.mapError((error) =>
            new ConnectError({ reason: "Failed", uri: original, code: error.code, stage: "DNS lookup", detail: error.message, cause: error })
          ),
          Effect.flatMap((addresses) => {
            resolved = true
            return connector.connect(internal.withAddress(uri, addresses[0]!)).pipe(
              Effect.mapError((error) => internal.onOriginalUri(error, original))
            )
          })
        )
        return failOnInterrupt(lookupThenConnect, () => internal.cancelled(original, resolved ? "connect" : "DNS lookup"))
      })
  }))

/**
 * {@link withResolver} as a layer over the `Connector` and `Resolver` it is given:
 * `DnsConnector.layer.pipe(Layer.provide(TcpConnector.layer), Layer.provide(NodeResolver.layer()))`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Connector, never, Connector | Resolver> = Layer.effect(
  Connector,
  Effect.zipWith(Connector, Resolver, withResolver)
)
