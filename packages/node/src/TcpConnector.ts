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
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as net from "node:net"
import { tcpAddresses, withTcpScheme } from "./internal/addresses.js"
import { describe } from "./internal/errno.js"
import * as NodeConnection from "./NodeConnection.js"

/**
 * Options of {@link layerWith}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** Local IP to bind the outgoing socket to (ReactPHP's `bindto`); default: chosen by the OS. */
  readonly localAddress?: string
  /** Local port to bind to; default: an ephemeral port. */
  readonly localPort?: number
  /** Disable Nagle's algorithm (`TCP_NODELAY`); default `true`, as small writes are common. */
  readonly noDelay?: boolean
  /** TCP keep-alive probes after this idle time (`Duration`-like milliseconds); default off. */
  readonly keepAlive?: number | false
  /** Bytes read ahead of the consumer before the socket is paused; default 65,536. */
  readonly readHighWaterMark?: number
}

/**
 * Connects to `tcp://IP:port` (the scheme may be omitted; a `?hostname=` query is ignored here
 * and kept for TLS). Fails with `EINVAL` for a malformed URI, a port outside 1–65535 or a host
 * that is not an IP literal, before opening a socket; with `Failed` and the system code
 * otherwise: `Connection to tcp://127.0.0.1:9 failed: Connection refused (ECONNREFUSED)`.
 * Interrupting it destroys the socket. The connection belongs to the caller's scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const connect = (uri: string, options: Options = {}): Effect.Effect<Connection, ConnectError, Scope.Scope> => {
  // As ReactPHP: the scheme defaults to tcp://, in messages too.
  const full = withTcpScheme(uri)
  return Effect.flatMap(
    parseTarget(full),
    (target) =>
      Effect.acquireRelease(
        Effect.interruptible(dial(full, target.host, target.port, options)),
        (connection) => connection.close
      )
  )
}

const parseTarget = (uri: string) =>
  SocketUri.parseClient(uri).pipe(
    Effect.flatMap((parsed) =>
      parsed.scheme === "tcp"
        ? SocketUri.requireIp(parsed, uri)
        : Effect.fail(new InvalidUriError({ uri, problem: "UnsupportedScheme" }))
    ),
    Effect.mapError(ConnectError.invalidUri)
  )

const dial = (uri: string, host: string, port: number, options: Options) =>
  Effect.async<Connection, ConnectError>((resume) => {
    const socket = net.connect({
      host,
      port,
      allowHalfOpen: true,
      noDelay: options.noDelay ?? true,
      ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
      ...(options.localPort !== undefined ? { localPort: options.localPort } : {}),
      ...(options.keepAlive !== undefined && options.keepAlive !== false
        ? { keepAlive: true, keepAliveInitialDelay: options.keepAlive }
        : {})
    })
    const onError = (error: Error) => {
      socket.off("connect", onConnect)
      socket.destroy()
      const { code, detail } = describe(error, "ECONNREFUSED")
      resume(Effect.fail(new ConnectError({ reason: "Failed", uri, code, detail, stage: "TCP/IP handshake", cause: error })))
    }
    const onConnect = () => {
      socket.off("error", onError)
      resume(Effect.succeed(NodeConnection.fromSocket(socket, {
        addresses: tcpAddresses,
        ...(options.readHighWaterMark !== undefined ? { readHighWaterMark: options.readHighWaterMark } : {})
      })))
    }
    socket.once("error", onError)
    socket.once("connect", onConnect)
    return Effect.sync(() => {
      socket.off("error", onError)
      socket.off("connect", onConnect)
      // A listener stays so that the error a destroyed, half-open socket may still emit is not uncaught.
      socket.on("error", () => {})
      socket.destroy()
    })
  })

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
