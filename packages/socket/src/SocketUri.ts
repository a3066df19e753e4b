/**
 * Parsing and formatting of host/port socket URIs (`tcp://`, `tls://` and scheme-less
 * `host:port`), with ReactPHP's rules: `tcp://` is the default scheme, IPv6 literals are
 * bracketed (`[::1]:80`), the port is required, a bare port means `127.0.0.1:port` for a
 * server, and the query (`?hostname=…`) survives parse and format. Every malformed input fails
 * with an {@link InvalidUriError} (`EINVAL`); nothing throws.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { InvalidUriError } from "./SocketError.js"
import * as Ip from "./internal/ip.js"

/**
 * A parsed host/port URI. `host` is without brackets; `query` is the raw query string without
 * `?` (empty when absent), kept verbatim so that formatting does not reorder or re-encode it.
 *
 * @since 0.1.0
 * @category models
 */
export interface SocketUri {
  readonly scheme: string
  readonly userInfo: Option.Option<string>
  readonly host: string
  readonly port: number
  readonly path: string
  readonly query: string
  readonly fragment: Option.Option<string>
}

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//
const AUTHORITY = /^(?:([^@/?#]*)@)?(\[[^\]/?#]*\]|[^:/?#[\]@]*)(?::([^/?#]*))?$/

const malformed = (uri: string, detail?: string) =>
  new InvalidUriError(detail === undefined ? { uri, problem: "Malformed" } : { uri, problem: "Malformed", detail })

/**
 * Parses `[scheme://][user@]host:port[/path][?query][#fragment]` without judging the port's
 * range or whether the host is an IP: see {@link parseClient} and {@link parseServer} for that.
 * The scheme defaults to `tcp`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseEither = (input: string): Either.Either<SocketUri, InvalidUriError> => {
  if (typeof input !== "string" || input.length === 0 || /[\s\x00-\x1f\x7f]/.test(input)) {
    return Either.left(malformed(String(input)))
  }
  const schemeMatch = SCHEME.exec(input)
  const scheme = schemeMatch ? schemeMatch[1]!.toLowerCase() : "tcp"
  let rest = schemeMatch ? input.slice(schemeMatch[0].length) : input

  let fragment = Option.none<string>()
  const hash = rest.indexOf("#")
  if (hash >= 0) {
    fragment = Option.some(rest.slice(hash + 1))
    rest = rest.slice(0, hash)
  }
  let query = ""
  const question = rest.indexOf("?")
  if (question >= 0) {
    query = rest.slice(question + 1)
    rest = rest.slice(0, question)
  }
  let path = ""
  const slash = rest.indexOf("/")
  if (slash >= 0) {
    path = rest.slice(slash)
    rest = rest.slice(0, slash)
  }
  const authority = AUTHORITY.exec(rest)
  if (!authority) return Either.left(malformed(input))
  const [, userInfo, rawHost = "", rawPort] = authority
  const bracketed = rawHost.startsWith("[")
  const host = bracketed ? rawHost.slice(1, -1) : rawHost
  if (host.length === 0) return Either.left(malformed(input, "missing host"))
  if (bracketed && !Ip.isIPv6(host)) return Either.left(malformed(input, "brackets must hold an IPv6 address"))
  if (rawPort === undefined || rawPort.length === 0) return Either.left(malformed(input, "missing port"))
  if (!/^[0-9]{1,5}$/.test(rawPort) || Number(rawPort) > 65535) {
    return Either.left(new InvalidUriError({ uri: input, problem: "InvalidPort" }))
  }
  return Either.right({
    scheme,
    userInfo: Option.fromNullable(userInfo),
    host,
    port: Number(rawPort),
    path,
    query,
    fragment
  })
}

/**
 * Effect form of {@link parseEither}.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (input: string): Effect.Effect<SocketUri, InvalidUriError> => parseEither(input)

/**
 * Parses a URI to connect to: the port must be 1–65535. Fails with `EINVAL` otherwise.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseClient = (input: string): Effect.Effect<SocketUri, InvalidUriError> =>
  Either.flatMap(parseEither(input), (uri) =>
    uri.port === 0 ? Either.left(new InvalidUriError({ uri: input, problem: "InvalidPort" })) : Either.right(uri))

/**
 * Parses a URI to listen on, as ReactPHP's `TcpServer` does: a bare port (`8080`, or the number
 * `8080`) means `127.0.0.1:8080`, port 0 asks for a random free port, and the host must be an IP
 * literal (`localhost` is refused rather than resolved). Fails with `EINVAL` otherwise.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseServer = (input: string | number): Effect.Effect<SocketUri, InvalidUriError> => {
  const text = typeof input === "number" ? String(input) : input
  const normalized = /^[0-9]+$/.test(text) ? `127.0.0.1:${text}` : text
  return Either.flatMap(parseEither(normalized), (uri) => requireIp(uri, text))
}

/**
 * Succeeds with the URI when its host is an IPv4 or IPv6 literal; fails with
 * `Given URI "…" does not contain a valid host IP (EINVAL)` otherwise.
 *
 * @since 0.1.0
 * @category parsing
 */
export const requireIp = (uri: SocketUri, original: string = format(uri)): Either.Either<SocketUri, InvalidUriError> =>
  Ip.isIP(uri.host) ? Either.right(uri) : Either.left(new InvalidUriError({ uri: original, problem: "HostNotIp" }))

/**
 * Formats a URI: `scheme://[user@]host:port[path][?query][#fragment]`, with IPv6 hosts in
 * brackets. `format(parse(s))` is stable: formatting its own output again gives the same text.
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (uri: SocketUri): string =>
  `${uri.scheme}://${Option.match(uri.userInfo, { onNone: () => "", onSome: (u) => `${u}@` })}${
    formatHostPort(uri.host, uri.port)
  }${uri.path}${uri.query.length > 0 ? `?${uri.query}` : ""}${Option.match(uri.fragment, { onNone: () => "", onSome: (f) => `#${f}` })}`

/**
 * `host:port`, with an IPv6 host in brackets: `127.0.0.1:80`, `[::1]:80`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatHostPort = (host: string, port: number): string => `${host.includes(":") ? `[${host}]` : host}:${port}`

/**
 * The value of the first query parameter called `name`, URL-decoded, if any.
 *
 * @since 0.1.0
 * @category query
 */
export const param = (uri: SocketUri, name: string): Option.Option<string> => {
  for (const pair of uri.query.split("&")) {
    const eq = pair.indexOf("=")
    const key = eq >= 0 ? pair.slice(0, eq) : pair
    if (safeDecode(key) === name) return Option.some(eq >= 0 ? safeDecode(pair.slice(eq + 1)) : "")
  }
  return Option.none()
}

/**
 * Appends `name=value` to the query (value URL-encoded), keeping what is there.
 *
 * @since 0.1.0
 * @category query
 */
export const appendParam = (uri: SocketUri, name: string, value: string): SocketUri => ({
  ...uri,
  query: `${uri.query.length > 0 ? `${uri.query}&` : ""}${encodeURIComponent(name)}=${encodeURIComponent(value)}`
})

const safeDecode = (text: string) => {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "))
  } catch {
    return text
  }
}

/**
 * Whether `host` is an IPv4 (dotted quad) or IPv6 literal, without brackets.
 *
 * @since 0.1.0
 * @category guards
 */
export const isIP: (host: string) => boolean = Ip.isIP

/**
 * The IP family of a literal: `4`, `6`, or `0` for a name.
 *
 * @since 0.1.0
 * @category guards
 */
export const ipFamily: (host: string) => 0 | 4 | 6 = Ip.family
