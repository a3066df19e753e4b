/**
 * A connector decorator that resolves host names and races IPv6 and IPv4 connection attempts as
 * RFC 8305 ("Happy Eyeballs Version 2") says, like ReactPHP's `HappyEyeBallsConnector`, so that
 * a broken path of one family costs a fraction of a second instead of an OS connect timeout.
 *
 * - The AAAA and A queries go out together (§3). If A answers first, its addresses wait up to
 *   the Resolution Delay (50 ms) for the AAAA answer.
 * - Addresses are tried alternating the families, IPv6 first (§4). An address that arrives later
 *   joins the list; one that arrives while no attempt is in flight is tried at once.
 * - The next attempt starts when the previous one fails, or after the Connection Attempt Delay
 *   (250 ms) (§5). Earlier attempts are not aborted: they keep racing, and the first connection
 *   established wins. Every other attempt and query is then interrupted, and a loser that
 *   connected as well is closed.
 * - One family failing to resolve does not fail the connect.
 *
 * URIs whose host is an IP literal go straight to the inner connector.
 *
 * @since 0.1.0
 */
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import { Connector } from "./Connector.js"
import * as internal from "./internal/happyEyeballs.js"
import * as ResolvedUri from "./internal/resolvedUri.js"
import { Resolver } from "./Resolver.js"
import * as SocketUri from "./SocketUri.js"

/**
 * RFC 8305 §5's recommended Connection Attempt Delay: 250 ms.
 *
 * @since 0.1.0
 * @category constants
 */
export const CONNECTION_ATTEMPT_DELAY: Duration.Duration = Duration.millis(250)

/**
 * RFC 8305 §5's Minimum Connection Attempt Delay: 10 ms. Shorter delays are raised to it.
 *
 * @since 0.1.0
 * @category constants
 */
export const MIN_CONNECTION_ATTEMPT_DELAY: Duration.Duration = Duration.millis(10)

/**
 * RFC 8305 §3's recommended Resolution Delay: 50 ms.
 *
 * @since 0.1.0
 * @category constants
 */
export const RESOLUTION_DELAY: Duration.Duration = Duration.millis(50)

/**
 * Options of {@link make} and {@link layer}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * How long an attempt races alone before the next address is tried too (RFC 8305 §5).
   * Default 250 ms; values under 10 ms are raised to 10 ms. A failed attempt starts the next at
   * once whatever the delay.
   */
  readonly connectionAttemptDelay?: Duration.DurationInput
  /**
   * How long a positive A answer that arrives first waits for the AAAA answer (RFC 8305 §3).
   * Default 50 ms; 0 uses the IPv4 addresses at once.
   */
  readonly resolutionDelay?: Duration.DurationInput
}

/**
 * Wraps a connector so that it resolves the URI's host with `resolver` (A and AAAA) and races
 * connection attempts through it, each to `scheme://address:port?hostname=<name>` (`hostname`
 * kept if the URI has one). Errors:
 * - a malformed URI: `EINVAL` before any query;
 * - both lookups fail: `Connection to tcp://example.com:80 failed during DNS lookup: …`;
 * - every attempt fails: one error (reason `Failed`, the last error's code, every error as
 *   `cause`) whose message names the last error of each family, as ReactPHP's does:
 *   `Connection to tcp://example.com:80 failed: Last error for IPv4: Connection to
 *   tcp://127.0.0.1:80 failed: Connection refused (ECONNREFUSED). Previous error for IPv6: …`.
 *
 * Interrupting it interrupts every query and attempt and closes every socket they opened; its
 * exit holds `Connection to tcp://example.com:80 cancelled during DNS lookup (ECONNABORTED)`
 * when no attempt had started yet, and the same without `during DNS lookup` otherwise.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withResolver: {
  (
    resolver: Context.Tag.Service<Resolver>,
    options?: Options
  ): (connector: Context.Tag.Service<Connector>) => Context.Tag.Service<Connector>
  (
    connector: Context.Tag.Service<Connector>,
    resolver: Context.Tag.Service<Resolver>,
    options?: Options
  ): Context.Tag.Service<Connector>
} = dual((args) => args.length >= 2 && isResolver(args[1]), (
  connector: Context.Tag.Service<Connector>,
  resolver: Context.Tag.Service<Resolver>,
  options: Options = {}
): Context.Tag.Service<Connector> => {
  const timing: internal.Timing = {
    resolutionDelay: Duration.decode(options.resolutionDelay ?? RESOLUTION_DELAY),
    connectionAttemptDelay: Duration.max(
      Duration.decode(options.connectionAttemptDelay ?? CONNECTION_ATTEMPT_DELAY),
      MIN_CONNECTION_ATTEMPT_DELAY
    )
  }
  return Connector.of({
    connect: (input) =>
      Effect.flatMap(ResolvedUri.parse(input), (uri) =>
        SocketUri.isIP(uri.host) ? connector.connect(input) : internal.connect(connector, resolver, uri, timing))
  })
})

const isResolver = (u: unknown): u is Context.Tag.Service<Resolver> =>
  typeof u === "object" && u !== null && "resolve" in u

/**
 * {@link withResolver} as a layer over the `Connector` and `Resolver` it is given:
 * `HappyEyeballsConnector.layer().pipe(Layer.provide(TcpConnector.layer), Layer.provide(NodeResolver.layer()))`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<Connector, never, Connector | Resolver> =>
  Layer.effect(Connector, Effect.zipWith(Connector, Resolver, (connector, resolver) => withResolver(connector, resolver, options)))
