/**
 * Opens TLS connections, as ReactPHP's `SecureConnector`: connects with the `Connector` it
 * wraps (a `tls://` URI becomes `tcp://` for it), then runs the client side of the TLS
 * handshake with `Tls.upgrade`'s defaults: TLS 1.2 at least, the server's certificate chain
 * verified against Node's trust store (or `ca`) and its name against the host connected to.
 *
 * @since 0.1.0
 */
import type { Connection } from "@effect-socket/socket/Connection"
import { Connector } from "@effect-socket/socket/Connector"
import { failOnInterrupt } from "@effect-socket/socket/internal/interrupt"
import { ConnectError, InvalidUriError } from "@effect-socket/socket/SocketError"
import * as SocketUri from "@effect-socket/socket/SocketUri"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/tls.js"
import type * as Tls from "./Tls.js"

/**
 * Options of {@link layer}: a client certificate (`pem`, or `cert` and `key`, with
 * `passphrase`), `ca`, `minVersion` / `maxVersion`, `alpnProtocols`, and how the server is
 * verified (`verifyPeer`, `verifyPeerName`: both on by default; read their risks before turning
 * one off).
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Tls.ContextOptions, Tls.VerifyOptions {
  /**
   * Fail with `Timeout` (`ETIMEDOUT`) if the TLS handshake alone takes longer; default no limit
   * (a `TimeoutConnector` above this one bounds the whole connection attempt). A duration that is
   * not positive (zero, a negative or `NaN` amount) makes every `connect` fail with `EINVAL`
   * before any I/O.
   */
  readonly handshakeTimeout?: Duration.DurationInput
}

interface Target {
  /** The URI as errors name it: `tls://host:port…`. */
  readonly uri: string
  /** What the inner connector is asked for: `tcp://host:port…`, query kept. */
  readonly inner: string
  /** The name the certificate must be for: the `hostname` query parameter, else the host. */
  readonly peerName: string
}

const parseTarget = (input: string): Effect.Effect<Target, ConnectError> => {
  // A URI without scheme means TLS here, as in ReactPHP's SecureConnector.
  const uri = input.includes("://") ? input : `tls://${input}`
  return SocketUri.parseClient(uri).pipe(
    Effect.flatMap((parsed) =>
      parsed.scheme === "tls"
        ? Effect.succeed({
          uri,
          inner: SocketUri.format({ ...parsed, scheme: "tcp" }),
          peerName: Option.getOrElse(SocketUri.param(parsed, "hostname"), () => parsed.host)
        })
        : Effect.fail(new InvalidUriError({ uri, problem: "UnsupportedScheme" }))
    ),
    Effect.mapError(ConnectError.invalidUri)
  )
}

/** The inner connector's error, renamed after the `tls://` URI the caller asked for. */
const renamed = (error: ConnectError, uri: string): ConnectError =>
  error.reason === "InvalidUri"
    ? error
    : new ConnectError({
      reason: error.reason,
      uri,
      code: error.code,
      ...(error.stage !== undefined ? { stage: error.stage } : {}),
      ...(error.detail !== undefined ? { detail: error.detail } : {}),
      ...(error.timeout !== undefined ? { timeout: error.timeout } : {}),
      cause: error
    })

/**
 * Connects to `tls://host:port` through `inner`, then upgrades. Fails with `EINVAL` for a bad
 * URI or scheme, and before any I/O if the client certificate or key is unusable; with the
 * inner connector's error under the `tls://` URI (`Connection to tls://example.com:443 failed:
 * Connection refused (ECONNREFUSED)`); or with a `TLS handshake` failure carrying Node's or
 * OpenSSL's code (`ERR_TLS_CERT_ALTNAME_INVALID`, `UNABLE_TO_VERIFY_LEAF_SIGNATURE`,
 * `CERT_HAS_EXPIRED`, `ERR_SSL_WRONG_VERSION_NUMBER`, …). Interrupting it closes the socket,
 * during the TCP connection or the handshake alike; during the handshake, the interrupted
 * fiber's exit also holds `Connection to tls://example.com:443 cancelled during TLS handshake
 * (ECONNABORTED)` (reason `Cancelled`), as the DNS connectors report their stages.
 */
const connect = (
  inner: Connector["Type"],
  config: Either.Either<internal.ClientConfig, internal.Failure>,
  input: string
): Effect.Effect<Connection, ConnectError, Scope.Scope> =>
  Effect.gen(function*() {
    const target = yield* parseTarget(input)
    if (Either.isLeft(config)) {
      return yield* new ConnectError({ reason: "Failed", uri: target.uri, stage: "TLS handshake", ...config.left })
    }
    const plain = yield* Effect.mapError(inner.connect(target.inner), (error) => renamed(error, target.uri))
    // An interrupted handshake is reported as ReactPHP words it (the socket is closed either way).
    return yield* failOnInterrupt(
      internal.upgradeClient(plain, config, { uri: target.uri, peerName: target.peerName, unread: undefined, owned: true }),
      () => new ConnectError({ reason: "Cancelled", uri: target.uri, code: "ECONNABORTED", stage: "TLS handshake" })
    )
  })

/**
 * A `Connector` for `tls://host:port` URIs (and scheme-less `host:port`) that requires the
 * `Connector` it wraps: usually DNS or Happy Eyeballs over TCP, so that `tls://example.com:443`
 * works, or `TcpConnector` alone for IP literals. The peer name is the URI's `hostname` query
 * parameter when present (set by the DNS connectors), else its host; it is sent as SNI unless
 * it is an IP literal. The returned connections are `Tls.TlsConnection`s (see `Tls.info`).
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options = {}): Layer.Layer<Connector, never, Connector> =>
  Layer.effect(
    Connector,
    Effect.map(Connector, (inner) => {
      // Built once: every connection shares one SecureContext.
      const config = internal.clientConfig(options)
      return Connector.of({ connect: (uri) => connect(inner, config, uri) })
    })
  )
