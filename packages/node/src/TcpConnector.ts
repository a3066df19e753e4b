/**
 * Opens plaintext TCP/IP connections to IP addresses, as ReactPHP's `TcpConnector`. It dials
 * exactly the one address it is given: names are resolved by `DnsConnector` or
 * `HappyEyeballsConnector` stacked above it.
 *
 * @since 0.1.0
 */
import type { Connection } from "@effect-socket/socket/Connection"
import { Connector } from "@effect-socket/socket/Connector"
import { ConnectError, InvalidUriError } from "@effect-socket/socket/SocketError"
import * as SocketUri from "@effect-socket/socket/SocketUri"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { tcpAddresses, withTcpScheme } from "./internal/addresses.js"
import { dialScoped } from "./internal/dial.js"
import type { Rule } from "@effect-socket/socket/internal/options"
import { invalidOption } from "@effect-socket/socket/internal/options"

/**
 * Options of {@link layerWith}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * Local IP literal to bind the outgoing socket to (ReactPHP's `bindto`), e.g. `"127.0.0.1"`,
   * `"::1"`; default: chosen by the OS.
   */
  readonly localAddress?: string
  /** Local port to bind to, an integer from 0 to 65535; default (and 0): an ephemeral port. */
  readonly localPort?: number
  /** Disable Nagle's algorithm (`TCP_NODELAY`); default `true`, as small writes are common. */
  readonly noDelay?: boolean
  /** TCP keep-alive probes after this idle time, in whole milliseconds (0: the system's); default off. */
  readonly keepAlive?: number | false
  /** Bytes read ahead of the consumer before the socket is paused, an integer of 0 or more; default 65,536. */
  readonly readHighWaterMark?: number
}

/**
 * Connects to `tcp://IP:port` (the scheme may be omitted; a `?hostname=` query is ignored here
 * and kept for TLS). Fails with `EINVAL` before opening a socket for a malformed URI, a port
 * outside 1–65535 or a host that is not an IP literal (reason `InvalidUri`), and for a bad
 * option value, such as a `localAddress` that is not an IP of the target's family (reason
 * `Failed`: `Connection to tcp://127.0.0.1:80 failed: Invalid option localPort: 99999, expected
 * an integer from 0 to 65535 (EINVAL)`); with `Failed` and the system code otherwise:
 * `Connection to tcp://127.0.0.1:9 failed: Connection refused (ECONNREFUSED)`.
 * Interrupting it destroys the socket. The connection belongs to the caller's scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const connect = (uri: string, options: Options = NO_OPTIONS): Effect.Effect<Connection, ConnectError, Scope.Scope> => {
  // As ReactPHP: the scheme defaults to tcp://, in messages too.
  const full = withTcpScheme(uri)
  // Checked synchronously (the parse is cached): no effect chain per connect.
  const target = parseTarget(full)
  return Either.isLeft(target) ? Effect.fail(target.left) : connectTo(full, target.right, options)
}

const connectTo = (
  full: string,
  target: SocketUri.SocketUri,
  options: Options
): Effect.Effect<Connection, ConnectError, Scope.Scope> => {
  const invalid = (options === NO_OPTIONS ? undefined : invalidOption(options, OPTION_RULES)) ??
    localFamilyMismatch(options.localAddress, target.host)
  if (invalid !== undefined) {
    return Effect.fail(new ConnectError({ reason: "Failed", uri: full, code: "EINVAL", stage: "TCP/IP handshake", detail: invalid }))
  }
  return dialScoped({
    uri: full,
    stage: "TCP/IP handshake",
    connect: {
      host: target.host,
      port: target.port,
      noDelay: options.noDelay ?? true,
      ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
      ...(options.localPort !== undefined ? { localPort: options.localPort } : {}),
      ...(options.keepAlive !== undefined && options.keepAlive !== false
        ? { keepAlive: true, keepAliveInitialDelay: options.keepAlive }
        : {})
    },
    addresses: tcpAddresses,
    readHighWaterMark: options.readHighWaterMark
  })
}

/** The default options, which need no check (once per connection). */
const NO_OPTIONS: Options = {}

const OPTION_RULES = {
  localAddress: "ip",
  localPort: "port",
  noDelay: "boolean",
  keepAlive: "milliseconds",
  readHighWaterMark: "count"
} as const satisfies Record<keyof Options, Rule>

/** A socket bound to an address of one family cannot connect to the other (the kernel says EINVAL). */
const localFamilyMismatch = (localAddress: string | undefined, host: string) => {
  if (localAddress === undefined || SocketUri.ipFamily(localAddress) === SocketUri.ipFamily(host)) return undefined
  return `Invalid option localAddress: ${JSON.stringify(localAddress)}, expected an IPv${SocketUri.ipFamily(host)} address as the target is one`
}

const parseTarget = (uri: string): Either.Either<SocketUri.SocketUri, ConnectError> =>
  Either.mapLeft(
    Either.flatMap(SocketUri.parseClientEither(uri), (parsed) =>
      parsed.scheme === "tcp"
        ? SocketUri.requireIp(parsed, uri)
        : Either.left(new InvalidUriError({ uri, problem: "UnsupportedScheme" }))),
    ConnectError.invalidUri
  )

/**
 * A `Connector` with {@link Options}.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerWith = (options: Options): Layer.Layer<Connector> =>
  Layer.succeed(Connector, Connector.of({ connect: (uri) => connect(uri, options) }))

/**
 * A `Connector` for `tcp://IP:port` with default options (`TCP_NODELAY` on).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer: Layer.Layer<Connector> = layerWith(NO_OPTIONS)
