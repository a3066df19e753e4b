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
import { firstProblem, optionalIntegerProblem } from "@effect-socket/socket/internal/validate"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import { tcpAddresses, withTcpScheme } from "./internal/addresses.js"
import { dialScoped } from "./internal/dial.js"

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
 * outside 1–65535 or a host that is not an IP literal (reason `InvalidUri`), and for an invalid
 * option (reason `Failed`: `Connection to tcp://127.0.0.1:80 failed: localPort must be an integer
 * from 0 to 65535, got 99999 (EINVAL)`); with `Failed` and the system code otherwise:
 * `Connection to tcp://127.0.0.1:9 failed: Connection refused (ECONNREFUSED)`.
 * Interrupting it destroys the socket. The connection belongs to the caller's scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const connect = (uri: string, options: Options = {}): Effect.Effect<Connection, ConnectError, Scope.Scope> => {
  // As ReactPHP: the scheme defaults to tcp://, in messages too.
  const full = withTcpScheme(uri)
  return Effect.flatMap(parseTarget(full), (target) => {
    const problem = optionsProblem(options)
    if (problem !== undefined) {
      return Effect.fail(new ConnectError({ reason: "Failed", uri: full, code: "EINVAL", stage: "TCP/IP handshake", detail: problem }))
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
  })
}

/** What is wrong with `options`, if anything: checked before any socket is opened. */
const optionsProblem = (options: Options) =>
  firstProblem(
    options.localAddress === undefined || SocketUri.isIP(options.localAddress)
      ? undefined
      : `localAddress must be an IP address, got ${JSON.stringify(options.localAddress)}`,
    optionalIntegerProblem("localPort", options.localPort, 0, 65535),
    options.keepAlive === false ? undefined : optionalIntegerProblem("keepAlive", options.keepAlive, 0),
    optionalIntegerProblem("readHighWaterMark", options.readHighWaterMark, 0)
  )

const parseTarget = (uri: string) =>
  SocketUri.parseClient(uri).pipe(
    Effect.flatMap((parsed) =>
      parsed.scheme === "tcp"
        ? SocketUri.requireIp(parsed, uri)
        : Effect.fail(new InvalidUriError({ uri, problem: "UnsupportedScheme" }))
    ),
    Effect.mapError(ConnectError.invalidUri)
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
export const layer: Layer.Layer<Connector> = layerWith({})
