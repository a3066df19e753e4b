/**
 * `Connection`s over Node sockets (`net.Socket`, `tls.TLSSocket`), for code that already holds
 * a socket. Servers and connectors of this package build their connections with it.
 *
 * @since 0.1.0
 */
import type { Connection } from "@effect-socket/socket/Connection"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as net from "node:net"
import { tcpAddresses } from "./internal/addresses.js"
import type { AddressFormat } from "./internal/socketConnection.js"
import { DEFAULT_READ_HIGH_WATER_MARK, SocketConnection } from "./internal/socketConnection.js"

/**
 * Options of {@link fromSocket}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /** How both ends are named; default `tcp://host:port`. */
  readonly addresses?: AddressFormat
  /**
   * Bytes read ahead of the consumer before the socket is paused; default 65,536. Past it, the
   * kernel's receive buffer and then the peer's TCP window absorb the rest.
   */
  readonly readHighWaterMark?: number
}

export type { AddressFormat }

/**
 * Wraps a connected socket. The socket is paused at once and reads only as `read` is pulled.
 * The caller owns the result: close it with `close`, or use {@link make} to tie it to a scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromSocket = (socket: net.Socket, options?: Options): Connection =>
  new SocketConnection(socket, options?.addresses ?? tcpAddresses, options?.readHighWaterMark ?? DEFAULT_READ_HIGH_WATER_MARK)

/**
 * {@link fromSocket}, closed (destroyed, and its handle released) when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (socket: net.Socket, options?: Options): Effect.Effect<Connection, never, Scope.Scope> =>
  Effect.acquireRelease(Effect.sync(() => fromSocket(socket, options)), (connection) => connection.close)

/**
 * The underlying Node socket of a connection made by this package, if it is one.
 *
 * @since 0.1.0
 * @category accessors
 */
export const socketOf = (connection: Connection): net.Socket | undefined =>
  connection instanceof SocketConnection ? connection.socket : undefined
