/**
 * The default client stack in one layer, as ReactPHP's `Connector` class: it routes by URI
 * scheme (none means `tcp://`; `tls://`, `unix://`) to connectors it assembles from the options.
 * With the defaults, `tcp://` is Happy Eyeballs (RFC 8305) over the system's DNS (cached) over
 * `TcpConnector`, bounded by a 60 s timeout; `tls://` is `TlsConnector` over that same TCP stack,
 * with its own 60 s timeout; `unix://` is `UnixConnector`. This module only assembles: every
 * connection is made by the layers it composes.
 *
 * @since 0.1.0
 */
import { Connector } from "@effect-socket/socket/Connector"
import * as DnsConnector from "@effect-socket/socket/DnsConnector"
import * as HappyEyeballsConnector from "@effect-socket/socket/HappyEyeballsConnector"
import * as Resolver from "@effect-socket/socket/Resolver"
import type { DnsError } from "@effect-socket/socket/SocketError"
import { ConnectError } from "@effect-socket/socket/SocketError"
import * as TimeoutConnector from "@effect-socket/socket/TimeoutConnector"
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as NodeResolver from "./NodeResolver.js"
import * as TcpConnector from "./TcpConnector.js"
import * as TlsConnector from "./TlsConnector.js"
import * as UnixConnector from "./UnixConnector.js"

/**
 * Options of {@link layer}, as ReactPHP's `Connector` context. Each scheme's option is `true`
 * (the default connector), `false` (the scheme is refused), that connector's options, or a
 * `Layer` that provides the `Connector` to use instead.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options<E = never> {
  /**
   * The base `tcp://` connector, below DNS and the timeout. A `Layer` replaces `TcpConnector`
   * (DNS still resolves names above it unless `dns: false`). `false` refuses `tcp://` URIs,
   * though `tls://` still runs over the default TCP stack. Default `true`.
   */
  readonly tcp?: boolean | TcpConnector.Options | Layer.Layer<Connector, E>
  /**
   * The `tls://` connector. A `Layer` may require a `Connector`: it is given the TCP stack
   * (DNS included), as `TlsConnector.layer` is. `false` refuses `tls://`. Default `true`
   * (verification on, system CAs).
   */
  readonly tls?: boolean | TlsConnector.Options | Layer.Layer<Connector, E, Connector>
  /** The `unix://` connector; `false` refuses `unix://`. Default `true`. */
  readonly unix?: boolean | UnixConnector.Options | Layer.Layer<Connector, E>
  /**
   * How names are resolved: `true` for the system's DNS settings and hosts file, a DNS server
   * (`"192.0.2.53"`, `"[2001:db8::53]:5353"`), or a `Layer` providing the `Resolver`; answers are
   * cached for their TTL (`Resolver.cached`) unless a `Layer` is given. `false` passes host names
   * to the `tcp://` connector unresolved, as ReactPHP does. Default `true`.
   */
  readonly dns?: boolean | string | Layer.Layer<Resolver.Resolver, E>
  /**
   * Happy Eyeballs (RFC 8305) for names: `true` (default) or its options; `false` resolves the
   * A record only and connects to its first address (`DnsConnector`).
   */
  readonly happyEyeballs?: boolean | HappyEyeballsConnector.Options
  /**
   * Bound on a whole `tcp://` or `tls://` connection attempt, DNS and handshakes included
   * (`ETIMEDOUT` past it); `false` (or `Duration.infinity`) for none. Default 60 seconds (PHP's
   * `default_socket_timeout`, which ReactPHP uses). A duration that is not positive (zero, a
   * negative or `NaN` amount) makes every `tcp://` and `tls://` connect fail with `EINVAL` (see
   * `TimeoutConnector.withTimeout`).
   */
  readonly timeout?: Duration.DurationInput | false
}

/**
 * The default timeout of a `tcp://` or `tls://` connection attempt: 60 seconds.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_TIMEOUT: Duration.Duration = Duration.seconds(60)

type ConnectorService = Context.Tag.Service<Connector>

const service = <I, S, E>(tag: Context.Tag<I, S>, layer: Layer.Layer<I, E>) =>
  Effect.map(Layer.build(layer), Context.get(tag))

const isLayer = <A, E, R>(u: unknown): u is Layer.Layer<A, E, R> => Layer.isLayer(u)

const resolverLayer = <E>(dns: true | string | Layer.Layer<Resolver.Resolver, E>): Layer.Layer<Resolver.Resolver, E | DnsError> =>
  isLayer<Resolver.Resolver, E, never>(dns)
    ? dns
    : Resolver.cached().pipe(Layer.provide(NodeResolver.layer(dns === true ? {} : { servers: [dns] })))

const schemeOf = (uri: string) => {
  const end = uri.indexOf("://")
  return end >= 0 ? uri.slice(0, end) : "tcp"
}

const router = (routes: ReadonlyMap<string, ConnectorService>): ConnectorService =>
  Connector.of({
    connect: (uri) => {
      const route = routes.get(schemeOf(uri))
      return route !== undefined ? route.connect(uri) : Effect.fail(
        new ConnectError({
          reason: "NoConnector",
          uri,
          code: "EINVAL",
          detail: `No connector available for URI scheme "${schemeOf(uri)}"`
        })
      )
    }
  })

/**
 * The `Connector` that routes by scheme, built from `options` (see {@link Options}). A URI whose
 * scheme has no connector fails with `No connector available for URI scheme "ftp" (EINVAL)`.
 * Fails to build with a `DnsError` (`EINVAL`) for a malformed `dns` server, or with the error of a
 * `Layer` given in the options. Closing the layer's scope releases every connector it built.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = <E = never>(options: Options<E> = {}): Layer.Layer<Connector, E | DnsError> =>
  Layer.scoped(
    Connector,
    Effect.gen(function*() {
      const { dns = true, happyEyeballs = true, tcp = true, tls = true, unix = true } = options
      const timeout = options.timeout === undefined ? DEFAULT_TIMEOUT : options.timeout
      const bounded = (connector: ConnectorService) =>
        timeout === false ? connector : TimeoutConnector.withTimeout(connector, timeout)

      const tcpBase: Layer.Layer<Connector, E> = isLayer<Connector, E, never>(tcp)
        ? tcp
        : TcpConnector.layerWith(typeof tcp === "object" ? tcp : {})
      const tcpStack = yield* service(
        Connector,
        dns === false ? tcpBase : (
          happyEyeballs === false ? DnsConnector.layer : HappyEyeballsConnector.layer(
            typeof happyEyeballs === "object" ? happyEyeballs : undefined
          )
        ).pipe(Layer.provide(tcpBase), Layer.provide(resolverLayer(dns)))
      )
      const routes = new Map<string, ConnectorService>()
      if (tcp !== false) routes.set("tcp", bounded(tcpStack))
      if (tls !== false) {
        const tlsLayer: Layer.Layer<Connector, E, Connector> = isLayer<Connector, E, Connector>(tls)
          ? tls
          : TlsConnector.layer(typeof tls === "object" ? tls : {})
        routes.set("tls", bounded(yield* service(Connector, Layer.provide(tlsLayer, Layer.succeed(Connector, tcpStack)))))
      }
      if (unix !== false) {
        routes.set(
          "unix",
          yield* service(
            Connector,
            isLayer<Connector, E, never>(unix) ? unix : UnixConnector.layerWith(typeof unix === "object" ? unix : {})
          )
        )
      }
      return router(routes)
    })
  )
