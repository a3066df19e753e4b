import { formatHostPort } from "@effect-socket/socket/SocketUri"
import type * as net from "node:net"
import type { AddressFormat } from "./socketConnection.js"

// Joined rather than concatenated: a connection keeps its remote address, and `join` makes one flat
// string where `+` makes a tree of five (~40 instead of ~140 bytes).
const hostPort = (scheme: string, host: string | undefined, port: number | undefined) =>
  host === undefined || port === undefined ? undefined : [scheme, "://", formatHostPort(host, port)].join("")

/** `tcp://127.0.0.1:8080` / `tcp://[::1]:8080` for both ends of an IP socket. */
export const ipAddresses = (scheme: string): AddressFormat => ({
  remote: (socket: net.Socket) => hostPort(scheme, socket.remoteAddress, socket.remotePort),
  local: (socket: net.Socket) => hostPort(scheme, socket.localAddress, socket.localPort)
})

export const tcpAddresses: AddressFormat = ipAddresses("tcp")

/**
 * The URI with `tcp://` in front when it has no scheme, as ReactPHP's `TcpServer` and
 * `TcpConnector` do before parsing, so that messages show the URI that was meant:
 * `Given URI "tcp://localhost:80" does not contain a valid host IP (EINVAL)`.
 */
export const withTcpScheme = (uri: string): string => (uri.includes("://") ? uri : `tcp://${uri}`)

/**
 * Both ends of a Unix-domain connection, as ReactPHP names them: a server's connection has the
 * server's path as local address and no remote one (the client socket is unnamed); a client's
 * connection has the path it dialled as remote address and no local one.
 */
export const unixAddresses = (ends: { readonly local?: string; readonly remote?: string }): AddressFormat => ({
  remote: () => ends.remote,
  local: () => ends.local
})
