/**
 * What `DnsConnector` and `HappyEyeballsConnector` share: turning `tcp://name:80` into the URI of
 * one resolved address, and putting the caller's URI back into the inner connector's errors.
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { ConnectError } from "../SocketError.js"
import * as SocketUri from "../SocketUri.js"

/** Parses a URI to connect to; a malformed one fails with `EINVAL` before any query is sent. */
export const parse = (uri: string): Effect.Effect<SocketUri.SocketUri, ConnectError> =>
  Effect.mapError(SocketUri.parseClient(uri), ConnectError.invalidUri)

/**
 * The URI with its host replaced by `address`, and `hostname=<name>` appended unless the query
 * has a `hostname` already: TLS takes the name for SNI and certificate checks from there
 * (ReactPHP's `Connector::uri()`).
 */
export const withAddress = (uri: SocketUri.SocketUri, address: string): string => {
  const resolved = { ...uri, host: address }
  return SocketUri.format(
    Option.isSome(SocketUri.param(uri, "hostname")) ? resolved : SocketUri.appendParam(resolved, "hostname", uri.host)
  )
}

/**
 * An inner connector's error message without the `hostname=` this module added to its URI:
 * `Connection to tcp://[::1]:80?hostname=localhost failed: …` → `Connection to tcp://[::1]:80 failed: …`.
 */
export const messageWithoutHostname = (error: ConnectError): string =>
  error.message.replace(/^(Connection to [^ ]+)[&?]hostname=[^ &]+/, "$1")

/**
 * The inner connector's error, told about the URI the caller asked for, as ReactPHP's
 * `DnsConnector` does: `Connection to tcp://example.com:80 failed: Connection to tcp://1.2.3.4:80
 * failed: Connection refused (ECONNREFUSED)`. Bad-input errors (`EINVAL`) pass unchanged.
 */
export const onOriginalUri = (error: ConnectError, uri: string): ConnectError => {
  if (error.reason === "InvalidUri" || error.reason === "NoConnector") return error
  const { code, reason, stage, timeout } = error
  return new ConnectError({
    reason,
    uri,
    code,
    detail: messageWithoutHostname(error),
    cause: error,
    ...(stage === undefined ? {} : { stage }),
    ...(timeout === undefined ? {} : { timeout })
  })
}

/** The failure of an interrupted connect: `Connection to … cancelled [during DNS lookup] (ECONNABORTED)`. */
export const cancelled = (uri: string, stage: "DNS lookup" | "connect"): ConnectError =>
  new ConnectError({ reason: "Cancelled", uri, code: "ECONNABORTED", stage })
