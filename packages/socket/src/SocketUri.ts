/**
 * Parsing and formatting of host/port socket URIs (`tcp://`, `tls://` and scheme-less
 * `host:port`), with ReactPHP's rules: `tcp://` is the default scheme, IPv6 literals are
 * bracketed (`[::1]:80`), the port is required, a bare port means `127.0.0.1:port` for a
 * server, and the query (`?hostname=…`) survives parse and format. Every malformed input fails
 * with an {@link InvalidUriError} (`EINVAL`, the input in the message); nothing throws.
 *
 * The grammar is RFC 3986's `scheme://[userinfo@]host:port[/path][?query][#fragment]`:
 * - the scheme may be omitted (then `tcp`) and is lower-cased (RFC 3986 §3.1); which schemes a
 *   connector or server handles is its own decision;
 * - user info is kept as written (RFC 3986 §3.2.1 characters) but used by no connector;
 * - the host is an IPv4 literal, an IPv6 literal in brackets, or a name of RFC 3986 §3.2.2
 *   `reg-name` characters (non-ASCII letters, marks and digits allowed, for IDNs); an empty
 *   host (`tcp://:80`), an IPv6 literal without brackets and an IPv4 literal in brackets are
 *   malformed. Whether a name exists is for the resolver to say;
 * - an IPv6 zone id is written `[fe80::1%25eth0]` (RFC 6874); the bare form that Node prints,
 *   `[fe80::1%eth0]`, is accepted too. `host` holds `fe80::1%eth0` and formatting writes `%25`;
 * - the port is 1–5 ASCII digits up to 65535; leading zeros are accepted and dropped
 *   (`:080` is port 80), as PHP's `parse_url` does;
 * - path, query and fragment are kept verbatim;
 * - whitespace and control characters (C0, DEL, C1), lone surrogates and U+FEFF are rejected
 *   anywhere in the URI.
 *
 * @since 0.1.0
 */
import type * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import { InvalidUriError } from "./SocketError.js"
import * as Ip from "./internal/ip.js"

/**
 * A parsed host/port URI. `scheme` is lower-case; `host` is without brackets (an IPv6 zone id
 * as `fe80::1%eth0`); `port` is 0–65535; `path` is empty or starts with `/`; `query` is the raw
 * query string without `?` (empty when absent), kept verbatim so that formatting does not
 * reorder or re-encode it.
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

const FORBIDDEN = /[\p{Cc}\p{White_Space}\p{Cs}\uFEFF]/u
const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//
// RFC 3986 §3.2.2 reg-name (unreserved, sub-delims, pct-encoded) and non-ASCII letters, marks, digits.
const REG_NAME = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=\p{L}\p{M}\p{N}]|%[0-9A-Fa-f]{2})+$/u
// RFC 3986 §3.2.1 userinfo: the same characters and ":".
const USER_INFO = /^(?:[A-Za-z0-9\-._~!$&'()*+,;=:\p{L}\p{M}\p{N}]|%[0-9A-Fa-f]{2})*$/u
const PORT = /^[0-9]{1,5}$/
const BARE_PORT = /^[0-9]+$/

const malformed = (uri: string, detail: string) => Either.left(new InvalidUriError({ uri, problem: "Malformed", detail }))
const invalidPort = (uri: string, detail?: string) =>
  Either.left(new InvalidUriError(detail === undefined ? { uri, problem: "InvalidPort" } : { uri, problem: "InvalidPort", detail }))

/** Splits `text` at the first `separator`: what comes after it is `None` when it is absent. */
const cut = (text: string, separator: string): readonly [string, Option.Option<string>] => {
  const at = text.indexOf(separator)
  return at < 0 ? [text, Option.none()] : [text.slice(0, at), Option.some(text.slice(at + 1))]
}

/**
 * The host inside brackets, with a zone id's `%25` (RFC 6874) or bare `%` read as the
 * delimiter, or `None` unless it is an IPv6 literal.
 */
const bracketedHost = (inside: string): Option.Option<string> => {
  const [address, zone] = cut(inside, "%")
  const host = Option.match(zone, {
    onNone: () => address,
    onSome: (z) => `${address}%${z.startsWith("25") ? z.slice(2) : z}`
  })
  return Ip.isIPv6(host) ? Option.some(host) : Option.none()
}

/** `::1`, `2001:db8::1:443`: an IPv6 literal, alone or followed by a port, without its brackets. */
const isBareIPv6 = (hostPort: string): boolean => {
  const lastColon = hostPort.lastIndexOf(":")
  return Ip.isIPv6(hostPort) || (lastColon > 0 && Ip.isIPv6(hostPort.slice(0, lastColon)))
}

/** Splits `host:port` (`uri` is for errors) and checks both. */
const parseHostPort = (uri: string, hostPort: string): Either.Either<{ host: string; port: number }, InvalidUriError> => {
  let host: string
  let afterHost: string
  if (hostPort.startsWith("[")) {
    const close = hostPort.indexOf("]")
    if (close < 0) return malformed(uri, "unclosed bracket")
    const bracketed = bracketedHost(hostPort.slice(1, close))
    if (Option.isNone(bracketed)) return malformed(uri, "brackets must hold an IPv6 address")
    host = bracketed.value
    afterHost = hostPort.slice(close + 1)
  } else {
    if (isBareIPv6(hostPort)) return malformed(uri, "an IPv6 address must be in brackets")
    const colon = hostPort.indexOf(":")
    host = colon < 0 ? hostPort : hostPort.slice(0, colon)
    afterHost = colon < 0 ? "" : hostPort.slice(colon)
    if (host.length === 0) return malformed(uri, "missing host")
    if (!REG_NAME.test(host)) return malformed(uri, "invalid character in host")
  }
  if (afterHost.length === 0 || afterHost === ":") return malformed(uri, "missing port")
  if (!afterHost.startsWith(":")) return malformed(uri, "unexpected text after the host")
  const port = afterHost.slice(1)
  if (!PORT.test(port) || Number(port) > 65535) return invalidPort(uri)
  return Either.right({ host, port: Number(port) })
}

/** Parses `text`, reporting errors against `uri` (what the caller gave, before normalizing). */
const parseAs = (uri: string, text: string): Either.Either<SocketUri, InvalidUriError> => {
  if (text.length === 0) return malformed(uri, "empty")
  if (FORBIDDEN.test(text)) return malformed(uri, "contains whitespace or a control character")
  const schemeMatch = SCHEME.exec(text)
  const scheme = schemeMatch === null ? "tcp" : schemeMatch[1]!.toLowerCase()
  // RFC 3986 §3: the fragment starts at the first "#", the query at the first "?" before it,
  // the path at the first "/" before that.
  const [beforeFragment, fragment] = cut(schemeMatch === null ? text : text.slice(schemeMatch[0].length), "#")
  const [beforeQuery, query] = cut(beforeFragment, "?")
  const slash = beforeQuery.indexOf("/")
  const authority = slash < 0 ? beforeQuery : beforeQuery.slice(0, slash)
  const at = authority.lastIndexOf("@")
  const userInfo = at < 0 ? Option.none<string>() : Option.some(authority.slice(0, at))
  if (Option.isSome(userInfo) && !USER_INFO.test(userInfo.value)) return malformed(uri, "invalid user info")
  return Either.map(parseHostPort(uri, authority.slice(at + 1)), ({ host, port }) => ({
    scheme,
    userInfo,
    host,
    port,
    path: slash < 0 ? "" : beforeQuery.slice(slash),
    query: Option.getOrElse(query, () => ""),
    fragment
  }))
}

/** `String(value)` for a non-string input from untyped callers, without throwing. */
const describe = (value: unknown): string => {
  try {
    return String(value)
  } catch {
    return typeof value
  }
}

/**
 * Successful parses by input. A client connects to the same few URIs again and again, and every
 * connector in a stack parses the URI (about 2 µs each: regular expressions, IP checks). Results
 * are immutable, so sharing one is safe. Bounded: cleared when full.
 */
const parsedUris = new Map<string, Either.Either<SocketUri, InvalidUriError>>()
const PARSED_URIS_MAX = 256

/**
 * Parses `[scheme://][userinfo@]host:port[/path][?query][#fragment]` (see the module
 * documentation for each part) without judging whether port 0 is allowed or whether the host
 * is an IP: see {@link parseClient}, {@link parseServer} and {@link requireIp} for that. Fails
 * with `Given URI "…" is invalid: <why> (EINVAL)` or `Given URI "…" contains an invalid port
 * (EINVAL)`, naming the input as given.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseEither = (input: string): Either.Either<SocketUri, InvalidUriError> => {
  if (typeof input !== "string") return malformed(describe(input), "not a string")
  let result = parsedUris.get(input)
  if (result === undefined) {
    result = parseAs(input, input)
    if (Either.isRight(result)) {
      if (parsedUris.size >= PARSED_URIS_MAX) parsedUris.clear()
      parsedUris.set(input, result)
    }
  }
  return result
}

/**
 * Effect form of {@link parseEither}.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parse = (input: string): Effect.Effect<SocketUri, InvalidUriError> => parseEither(input)

/**
 * Parses a URI to connect to: the port must be 1–65535, the host may be a name (resolving it
 * is a `DnsConnector`'s job; `TcpConnector` adds {@link requireIp}). Fails with `EINVAL` as
 * {@link parseEither} does, and for port 0 with `Given URI "…" contains an invalid port`.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseClient = (input: string): Effect.Effect<SocketUri, InvalidUriError> => parseClientEither(input)

/**
 * {@link parseClient} as an `Either`, for connectors that check a URI synchronously on every
 * connect (the parse is cached, see {@link parseEither}).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseClientEither = (input: string): Either.Either<SocketUri, InvalidUriError> =>
  Either.flatMap(parseEither(input), (uri) => (uri.port === 0 ? invalidPort(input, "port 0 cannot be connected to") : Either.right(uri)))

/**
 * Parses a URI to listen on, as ReactPHP's `TcpServer` does: a bare port (`8080`, or the number
 * `8080`) means `127.0.0.1:8080`, port 0 asks for a random free port, and the host must be an IP
 * literal (`localhost` is refused rather than resolved). The scheme is kept for the server to
 * judge. Fails with `EINVAL` otherwise, naming the input as given (`8080`, not the normalized
 * `127.0.0.1:8080`).
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseServer = (input: string | number): Effect.Effect<SocketUri, InvalidUriError> => {
  if (typeof input !== "string" && typeof input !== "number") return malformed(describe(input), "not a string")
  const uri = String(input)
  return Either.flatMap(parseAs(uri, BARE_PORT.test(uri) ? `127.0.0.1:${uri}` : uri), (parsed) => requireIp(parsed, uri))
}

/**
 * Succeeds with the URI when its host is an IPv4 or IPv6 literal; fails with
 * `Given URI "…" does not contain a valid host IP (EINVAL)` otherwise (ReactPHP's
 * `TcpConnector` and `TcpServer`), naming `original`, by default the formatted URI.
 *
 * @since 0.1.0
 * @category parsing
 */
export const requireIp = (uri: SocketUri, original: string = format(uri)): Either.Either<SocketUri, InvalidUriError> =>
  Ip.isIP(uri.host) ? Either.right(uri) : Either.left(new InvalidUriError({ uri: original, problem: "HostNotIp" }))

/**
 * Formats a URI: `scheme://[userinfo@]host:port[path][?query][#fragment]`, the host as
 * {@link formatHostPort} writes it, the query only when non-empty. For any `s` that parses,
 * `format(parse(s))` parses again to the same value, so formatting is stable.
 *
 * @since 0.1.0
 * @category formatting
 */
export const format = (uri: SocketUri): string =>
  `${uri.scheme}://${Option.match(uri.userInfo, { onNone: () => "", onSome: (u) => `${u}@` })}${
    formatHostPort(uri.host, uri.port)
  }${uri.path}${uri.query.length > 0 ? `?${uri.query}` : ""}${Option.match(uri.fragment, { onNone: () => "", onSome: (f) => `#${f}` })}`

/**
 * `host:port`, with an IPv6 host in brackets and its zone id delimiter written `%25`
 * (RFC 6874): `127.0.0.1:80`, `[::1]:80`, `[fe80::1%25eth0]:80`.
 *
 * @since 0.1.0
 * @category formatting
 */
export const formatHostPort = (host: string, port: number): string =>
  `${host.includes(":") ? `[${host.replace("%", "%25")}]` : host}:${port}`

/**
 * Decodes `+` and `%XX` as PHP's `urldecode` does, except that a run of `%XX` that is not
 * UTF-8 (which a JS string cannot hold as bytes) is left as written.
 */
const decodeComponent = (text: string): string =>
  text.replace(/\+/g, " ").replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run)
    } catch {
      return run
    }
  })

/** `encodeURIComponent`, with lone surrogates (which it rejects) replaced by U+FFFD. */
const encodeComponent = (text: string): string => encodeURIComponent(text.replace(/\p{Cs}/gu, "\uFFFD"))

/**
 * The value of the query parameter called `name`, URL-decoded (`+` is a space), if any. When
 * the name occurs more than once the last one wins, as with PHP's `parse_str`, which ReactPHP's
 * `TcpConnector` uses to read `hostname`. A parameter without `=` has the value `""`.
 *
 * @since 0.1.0
 * @category query
 */
export const param = (uri: SocketUri, name: string): Option.Option<string> => {
  let found = Option.none<string>()
  for (const pair of uri.query.split("&")) {
    if (pair.length === 0) continue
    const [key, value] = cut(pair, "=")
    if (decodeComponent(key) === name) found = Option.some(decodeComponent(Option.getOrElse(value, () => "")))
  }
  return found
}

/**
 * Appends `name=value` to the query, both URL-encoded, keeping what is there (as ReactPHP's
 * `Connector::uri` appends `hostname=`), so that `param(appendParam(uri, name, value), name)`
 * is `value`. Lone surrogates, which no URL can carry, become U+FFFD.
 *
 * @since 0.1.0
 * @category query
 */
export const appendParam = (uri: SocketUri, name: string, value: string): SocketUri => ({
  ...uri,
  query: `${uri.query.length > 0 ? `${uri.query}&` : ""}${encodeComponent(name)}=${encodeComponent(value)}`
})

/**
 * Whether `host` is an IPv4 (dotted quad) or IPv6 literal, without brackets; an IPv6 zone id
 * (`fe80::1%eth0`) is allowed. Agrees with Node's `net.isIP`.
 *
 * @since 0.1.0
 * @category guards
 */
export const isIP: (host: string) => boolean = Ip.isIP

/**
 * The IP family of a literal: `4`, `6`, or `0` for anything else (a name); as Node's
 * `net.isIP`.
 *
 * @since 0.1.0
 * @category guards
 */
export const ipFamily: (host: string) => 0 | 4 | 6 = Ip.family
