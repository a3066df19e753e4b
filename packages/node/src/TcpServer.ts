/**
 * A TCP/IP server, as ReactPHP's `TcpServer`: listens on an IP and port and exposes the
 * accepted connections as a `Stream`. Not pulling the stream is ReactPHP's `pause()`.
 *
 * @since 0.1.0
 */
import type { Server } from "@effect-socket/socket/Server"
import { DEFAULT_BACKLOG as SERVER_DEFAULT_BACKLOG } from "@effect-socket/socket/Server"
import { ListenError } from "@effect-socket/socket/SocketError"
import * as SocketUri from "@effect-socket/socket/SocketUri"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as net from "node:net"
import { tcpAddresses, withTcpScheme } from "./internal/addresses.js"
import { listen } from "./internal/netServer.js"
import type { Rule } from "@effect-socket/socket/internal/options"
import { invalidOption } from "@effect-socket/socket/internal/options"
import { InvalidUriError } from "@effect-socket/socket/SocketError"

/**
 * Options of {@link make}, as ReactPHP's `tcp` socket context.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * The kernel's listen backlog and the bound on accepted connections held while nobody pulls
   * `connections`, a positive integer; default 511 (ReactPHP's). Past it, a new connection is
   * closed at once and reported on `errors` as `BacklogFull`.
   */
  readonly backlog?: number
  /** For an IPv6 host: accept IPv6 only, not IPv4-mapped addresses (`IPV6_V6ONLY`); default `false`. */
  readonly ipv6Only?: boolean
  /** Disable Nagle's algorithm on accepted sockets (`TCP_NODELAY`); default `true`. */
  readonly noDelay?: boolean
  /**
   * Enable TCP keep-alive on accepted sockets after this idle time in whole milliseconds (0: the
   * system's); default off.
   */
  readonly keepAlive?: number | false
  /** Bytes read ahead of the consumer before a connection is paused, an integer of 0 or more; default 65,536. */
  readonly readHighWaterMark?: number
}

const OPTION_RULES = {
  backlog: "positive",
  ipv6Only: "boolean",
  noDelay: "boolean",
  keepAlive: "milliseconds",
  readHighWaterMark: "count"
} as const satisfies Record<keyof Options, Rule>

/**
 * The default listen backlog, ReactPHP's (and Node's) 511.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_BACKLOG: number = SERVER_DEFAULT_BACKLOG

/**
 * Parses a server URI: `tcp://IP:port`, `IP:port`, `[IPv6]:port`, or a bare port meaning
 * `127.0.0.1:port` (not every interface, as Node's `listen(port)` would). Port 0 picks a free
 * port. Fails with `EINVAL` for anything else, including host names such as `localhost`; as in
 * ReactPHP, the message shows the URI completed with `tcp://` (and `127.0.0.1:` for a bare
 * port): `Given URI "tcp://localhost:8080" does not contain a valid host IP (EINVAL)`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseUri = (uri: string | number): Effect.Effect<SocketUri.SocketUri, ListenError> => {
  const text = String(uri)
  if (typeof uri === "number" && !(Number.isInteger(uri) && uri >= 0 && uri <= 65535)) {
    return Effect.fail(ListenError.invalidUri(
      new InvalidUriError({ uri: `tcp://127.0.0.1:${text}`, problem: "InvalidPort", detail: `${text} is not a port number (an integer from 0 to 65535)` })
    ))
  }
  const full = /^-?[0-9]+$/.test(text) ? `tcp://127.0.0.1:${text}` : withTcpScheme(text)
  return SocketUri.parseServer(full).pipe(
    Effect.filterOrFail(
      (parsed) => parsed.scheme === "tcp",
      () => new InvalidUriError({ uri: full, problem: "UnsupportedScheme" })
    ),
    Effect.mapError(ListenError.invalidUri)
  )
}

/**
 * Listens on `uri` (see {@link parseUri}) and returns the `Server`, whose `address` has the
 * real port: `tcp://127.0.0.1:41234`, `tcp://[::1]:41234`. Fails with `EINVAL` before any
 * socket exists for a bad URI (or a number that is not a port) or option value (`Failed to
 * listen on "tcp://127.0.0.1:0": Invalid option backlog: -1, expected an integer from 1 to
 * 2147483647 (EINVAL)`), and with
 * `Listen` and the system code otherwise:
 * `Failed to listen on "tcp://127.0.0.1:8080": Address already in use (EADDRINUSE)`.
 * Closing the scope stops listening and closes every connection the server accepted.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (uri: string | number, options: Options = {}): Effect.Effect<Server, ListenError, Scope.Scope> =>
  Effect.flatMap(parseUri(uri), (parsed) => {
    const invalid = invalidOption(options, OPTION_RULES)
    if (invalid !== undefined) {
      return Effect.fail(new ListenError({ reason: "Listen", uri: SocketUri.format(parsed), code: "EINVAL", detail: invalid }))
    }
    const keepAlive = options.keepAlive ?? false
    const serverOptions: net.ServerOpts = {
      noDelay: options.noDelay ?? true,
      ...(keepAlive !== false ? { keepAlive: true, keepAliveInitialDelay: keepAlive } : {})
    }
    return listen({
      uri: SocketUri.format(parsed),
      listen: { host: parsed.host, port: parsed.port, ipv6Only: options.ipv6Only ?? false },
      backlog: options.backlog ?? DEFAULT_BACKLOG,
      serverOptions,
      address: (server) => {
        const bound = server.address() as net.AddressInfo
        return `tcp://${SocketUri.formatHostPort(bound.address, bound.port)}`
      },
      addresses: tcpAddresses,
      ...(options.readHighWaterMark !== undefined ? { readHighWaterMark: options.readHighWaterMark } : {})
    })
  })
