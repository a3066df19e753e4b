/**
 * The `Connector` that `effect-socket connect` uses, assembled from its flags as ReactPHP's
 * `Connector` assembles its stack: TCP under Happy Eyeballs (or plain DNS) over a c-ares
 * resolver; TLS over that; the timeout around each; and Unix sockets. Routed by scheme
 * (`tcp://` is the default). This module stands in for `NodeConnector.layer(options)` until that
 * facade exists.
 */
import { Connector } from "@effect-socket/socket/Connector"
import * as DnsConnector from "@effect-socket/socket/DnsConnector"
import * as HappyEyeballsConnector from "@effect-socket/socket/HappyEyeballsConnector"
import type { DnsError } from "@effect-socket/socket/SocketError"
import { ConnectError } from "@effect-socket/socket/SocketError"
import * as TimeoutConnector from "@effect-socket/socket/TimeoutConnector"
import * as NodeResolver from "@effect-socket/node/NodeResolver"
import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as TlsConnector from "@effect-socket/node/TlsConnector"
import * as UnixConnector from "@effect-socket/node/UnixConnector"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"

/** What the flags of `connect` ask of the connector. */
export interface Options {
  /** Give up on a connection attempt after this long (`ETIMEDOUT`); none: wait as long as the OS does. */
  readonly timeout: Option.Option<Duration.Duration>
  /** DNS servers to ask (`IP` or `IP:port`), in order; empty: the system's. */
  readonly dns: ReadonlyArray<string>
  /** Race IPv6 and IPv4 addresses (RFC 8305); `false`: the first IPv4 address only (`DnsConnector`). */
  readonly happyEyeballs: boolean
  /** How `tls://` connections are made and verified (`--ca`, `--insecure`, `--alpn`). */
  readonly tls: TlsConnector.Options
}

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//

/** The URI's scheme, lower-cased; `tcp` when it has none (`127.0.0.1:80`). */
export const schemeOf = (uri: string): string => SCHEME.exec(uri)?.[1]?.toLowerCase() ?? "tcp"

type Service = Context.Tag.Service<Connector>

/** A connector that hands each URI to the connector of its scheme, or fails with `NoConnector`. */
const byScheme = (routes: Readonly<Record<string, Service>>): Service =>
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
const service = <E>(layer: Layer.Layer<Connector, E>) => Effect.map(Layer.build(layer), Context.get(Connector))

/** The connector for the flags of `connect`; fails if a `dns` server address is malformed. */
export const layer = (options: Options): Layer.Layer<Connector, DnsError> => {
  const resolver = NodeResolver.layer(options.dns.length > 0 ? { servers: options.dns } : {})
  const named = (options.happyEyeballs ? HappyEyeballsConnector.layer() : DnsConnector.layer).pipe(
    Layer.provide(TcpConnector.layer),
    Layer.provide(resolver)
  )
  const withTimeout = (inner: Layer.Layer<Connector, DnsError>) =>
    Option.match(options.timeout, {
      onNone: () => inner,
      onSome: (duration) => TimeoutConnector.layer(duration).pipe(Layer.provide(inner))
    })
  return Layer.scoped(
    Connector,
    Effect.gen(function*() {
      const tcp = yield* service(withTimeout(named))
      // As in ReactPHP, the timeout bounds the whole TLS connection (TCP and handshake), and does
      // not apply to Unix sockets, which connect at once or fail.
      const tls = yield* service(withTimeout(TlsConnector.layer(options.tls).pipe(Layer.provide(named))))
      const unix = yield* service(UnixConnector.layer)
      return byScheme({ tcp, tls, unix })
    })
  )
}
