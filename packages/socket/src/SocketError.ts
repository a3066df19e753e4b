/**
 * The typed errors of effect-socket. Each carries data (`reason`, the URI or address, the
 * system `code`, a `detail` text and the `cause`) and derives its `message` from it in one
 * place, in the wording of ReactPHP's socket component, e.g.
 * `Connection to tcp://127.0.0.1:9 failed: Connection refused (ECONNREFUSED)`.
 *
 * @since 0.1.0
 */
import * as Data from "effect/Data"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"

/**
 * An `E…` errno name such as `ECONNREFUSED`, or a library-level code such as
 * `ERR_TLS_CERT_ALTNAME_INVALID`.
 *
 * @since 0.1.0
 * @category models
 */
export type ErrorCode = string

// A text that names the code already (a nested error's message) does not get it twice.
const withCode = (text: string, code: ErrorCode) => (text.includes(`(${code})`) ? text : `${text} (${code})`)

/**
 * A socket URI that cannot be used where it was given; always `EINVAL`, raised before any
 * socket is opened. The messages follow ReactPHP: `Given URI "…" is invalid (EINVAL)`,
 * `Given URI "…" does not contain a valid host IP (EINVAL)`,
 * `Given URI "…" contains an invalid port (EINVAL)`.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidUriError extends Data.TaggedError("InvalidUriError")<{
  readonly uri: string
  readonly problem: "Malformed" | "HostNotIp" | "InvalidPort" | "UnsupportedScheme" | "PathTooLong"
  readonly detail?: string
}> {
  /** Always `EINVAL`. */
  readonly code: ErrorCode = "EINVAL"
  override get message() {
    const suffix = this.detail === undefined ? "" : `: ${this.detail}`
    switch (this.problem) {
      case "HostNotIp":
        return `Given URI "${this.uri}" does not contain a valid host IP${suffix} (EINVAL)`
      case "InvalidPort":
        return `Given URI "${this.uri}" contains an invalid port${suffix} (EINVAL)`
      case "UnsupportedScheme":
        return `Given URI "${this.uri}" has an unsupported scheme${suffix} (EINVAL)`
      case "PathTooLong":
        return `Given URI "${this.uri}" has a socket path that is too long${suffix} (EINVAL)`
      case "Malformed":
        return `Given URI "${this.uri}" is invalid${suffix} (EINVAL)`
    }
  }
}

/**
 * Seconds with one decimal at least, as ReactPHP prints them (`3.0`), and as many more as the
 * milliseconds need (`0.25`, `0.001`): a sub-second timeout never reads `0.0`.
 */
const formatSeconds = (duration: Duration.Duration): string => {
  let text = (Duration.toMillis(duration) / 1000).toFixed(3)
  while (text.endsWith("0") && !text.endsWith(".0")) text = text.slice(0, -1)
  return text
}

/**
 * The stage a connection attempt failed or was cancelled in; it picks ReactPHP's wording.
 *
 * @since 0.1.0
 * @category models
 */
export type ConnectStage = "DNS lookup" | "TCP/IP handshake" | "TLS handshake" | "connect"

/**
 * Opening a connection failed. `reason`:
 * - `InvalidUri`: bad input, `EINVAL`, before any I/O (`cause` is the {@link InvalidUriError});
 * - `NoConnector`: the URI's scheme has no connector (`EINVAL`);
 * - `Failed`: the peer or the system refused (`ECONNREFUSED`, `ENOENT`, `EHOSTUNREACH`, …) in `stage`;
 * - `Timeout`: `ETIMEDOUT` after `timeout`;
 * - `Cancelled`: interrupted, `ECONNABORTED`, in `stage`.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectError extends Data.TaggedError("ConnectError")<{
  readonly reason: "InvalidUri" | "NoConnector" | "Failed" | "Timeout" | "Cancelled"
  readonly uri: string
  readonly code: ErrorCode
  readonly stage?: ConnectStage
  readonly detail?: string
  readonly timeout?: Duration.Duration
  readonly cause?: unknown
}> {
  override get message(): string {
    switch (this.reason) {
      case "InvalidUri":
        return this.cause instanceof InvalidUriError ? this.cause.message : withCode(`Given URI "${this.uri}" is invalid`, this.code)
      case "NoConnector":
        return withCode(this.detail ?? `No connector available for URI "${this.uri}"`, this.code)
      case "Timeout":
        return `Connection to ${this.uri} timed out after ${formatSeconds(this.timeout ?? Duration.zero)} seconds (${this.code})`
      case "Cancelled":
        return `Connection to ${this.uri} cancelled${this.stage && this.stage !== "connect" ? ` during ${this.stage}` : ""} (${this.code})`
      case "Failed": {
        const during = this.stage && this.stage !== "connect" && this.stage !== "TCP/IP handshake" ? ` during ${this.stage}` : ""
        return `Connection to ${this.uri} failed${during}: ${this.stage === "DNS lookup" ? (this.detail ?? this.code) : withCode(this.detail ?? "Unknown error", this.code)}`
      }
    }
  }

  /**
   * Lifts an {@link InvalidUriError} into the connector's error channel.
   *
   * @since 0.1.0
   */
  static invalidUri(error: InvalidUriError): ConnectError {
    return new ConnectError({ reason: "InvalidUri", uri: error.uri, code: "EINVAL", cause: error })
  }
}

/**
 * Binding or listening failed: `InvalidUri` (`EINVAL`, before any socket exists), `Listen`
 * (`EADDRINUSE`, `EACCES`, `EADDRNOTAVAIL`, …) or `Tls` (a TLS server's certificate, key or
 * passphrase is unusable: `ERR_OSSL_BAD_DECRYPT`, `ERR_OSSL_PEM_NO_START_LINE`, …). Message as ReactPHP's:
 * `Failed to listen on "tcp://127.0.0.1:8080": Address already in use (EADDRINUSE)`.
 *
 * @since 0.1.0
 * @category errors
 */
export class ListenError extends Data.TaggedError("ListenError")<{
  readonly reason: "InvalidUri" | "Listen" | "Tls"
  readonly uri: string
  readonly code: ErrorCode
  readonly detail?: string
  readonly cause?: unknown
}> {
  override get message(): string {
    if (this.reason === "InvalidUri" && this.cause instanceof InvalidUriError) return this.cause.message
    return `Failed to listen on "${this.uri}": ${withCode(this.detail ?? "Unknown error", this.code)}`
  }

  /**
   * Lifts an {@link InvalidUriError} into the server's error channel.
   *
   * @since 0.1.0
   */
  static invalidUri(error: InvalidUriError): ListenError {
    return new ListenError({ reason: "InvalidUri", uri: error.uri, code: "EINVAL", cause: error })
  }
}

/**
 * Reading from or writing to an open connection failed (`ECONNRESET`, `EPIPE`, …), or a write
 * came after the connection was closed (`Closed`, `EPIPE`).
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectionError extends Data.TaggedError("ConnectionError")<{
  readonly reason: "Read" | "Write" | "Closed"
  readonly address: Option.Option<string>
  readonly code: ErrorCode
  readonly detail?: string
  readonly cause?: unknown
}> {
  override get message(): string {
    const peer = Option.match(this.address, { onNone: () => "connection", onSome: (a) => `connection to ${a}` })
    const what = this.reason === "Read" ? "Unable to read from" : this.reason === "Write" ? "Unable to write to" : "Already closed:"
    return `${what} ${peer}: ${withCode(this.detail ?? "Unknown error", this.code)}`
  }
}

/**
 * A non-fatal server event, published on `Server.errors`; the connection stream goes on.
 * `Accept` (`EMFILE`, `ENFILE`, …), `BacklogFull` (a connection closed because the accept
 * queue was full while nobody pulled), `Handshake` (a TLS handshake failed or timed out),
 * `Limit` (rejected by a `LimitingServer`).
 *
 * @since 0.1.0
 * @category errors
 */
export class ServerError extends Data.TaggedError("ServerError")<{
  readonly reason: "Accept" | "BacklogFull" | "Handshake" | "Limit"
  readonly address: string
  readonly remoteAddress: Option.Option<string>
  readonly code: ErrorCode
  readonly detail?: string
  readonly cause?: unknown
}> {
  override get message(): string {
    const from = Option.match(this.remoteAddress, { onNone: () => "", onSome: (a) => ` from ${a}` })
    if (this.reason === "Handshake") {
      // ReactPHP's SecureServer wording: "Connection from tcp://… failed during TLS handshake: …".
      return `Connection${from} failed during TLS handshake on ${this.address}: ${withCode(this.detail ?? "Unknown error", this.code)}`
    }
    const what = {
      Accept: "Unable to accept new connection",
      BacklogFull: "Connection rejected because the accept backlog is full",
      Limit: "Connection rejected because server reached connection limit"
    }[this.reason]
    return `${what}${from} on ${this.address}: ${withCode(this.detail ?? "Unknown error", this.code)}`
  }
}

/**
 * A DNS lookup failed. `reason`: `NotFound` (NXDOMAIN, `ENOTFOUND`), `NoData` (the name exists
 * but has no record of the family, `ENODATA`), `ServerFailure` (SERVFAIL, `ESERVFAIL`),
 * `Refused` (`EREFUSED`), `Timeout` (`ETIMEOUT`), `Invalid` (not a host name, `EINVAL`),
 * `Other`. A resolver configured with a malformed DNS server address fails with `Invalid` and
 * that address in `server`, before any query: `Invalid DNS server address "bogus": Not an IP
 * address (EINVAL)`; with a bad option, with its name in `option`:
 * `Invalid option tries: 0, expected an integer from 1 to 2147483647 (EINVAL)`.
 *
 * @since 0.1.0
 * @category errors
 */
export class DnsError extends Data.TaggedError("DnsError")<{
  readonly reason: "NotFound" | "NoData" | "ServerFailure" | "Refused" | "Timeout" | "Invalid" | "Other"
  readonly host: string
  readonly family?: 4 | 6
  readonly code: ErrorCode
  readonly detail?: string
  readonly cause?: unknown
  /** The malformed DNS server address, when the resolver's configuration rather than a query failed. */
  readonly server?: string
  /** The resolver option with a bad value, when that rather than a query failed; `detail` says what is wrong. */
  readonly option?: string
}> {
  override get message(): string {
    if (this.server !== undefined) {
      return `Invalid DNS server address "${this.server}": ${withCode(this.detail ?? "Unknown error", this.code)}`
    }
    if (this.option !== undefined) return withCode(this.detail ?? `Invalid option ${this.option}`, this.code)
    const record = this.family === 6 ? " (AAAA)" : this.family === 4 ? " (A)" : ""
    return `DNS query for ${this.host}${record} failed: ${withCode(this.detail ?? "Unknown error", this.code)}`
  }
}
