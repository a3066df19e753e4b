/**
 * TLS on an open connection: {@link upgrade} turns a plaintext `Connection` into an encrypted
 * one in place (STARTTLS, as SMTP, IMAP, PostgreSQL and LDAP negotiate it), and
 * {@link TlsConnection} exposes what the handshake negotiated. `TlsConnector` and `TlsServer`
 * run every handshake through {@link upgrade}, so there is one handshake path with one set of
 * defaults: TLS 1.2 at least, the peer's certificate chain and name verified on the client side.
 *
 * @since 0.1.0
 */
import type { Connection } from "@effect-socket/socket/Connection"
import type { ConnectError, ServerError } from "@effect-socket/socket/SocketError"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as tls from "node:tls"
import * as internal from "./internal/tls.js"

/**
 * PEM text (`-----BEGIN CERTIFICATE-----…`), as a string or its bytes. Not a file path: read
 * the file first.
 *
 * @since 0.1.0
 * @category models
 */
export type Pem = internal.Pem

/**
 * A TLS version name, as Node and OpenSSL spell it: `"TLSv1.2"`, `"TLSv1.3"` (`"TLSv1"` and
 * `"TLSv1.1"` exist but are deprecated by RFC 8996).
 *
 * @since 0.1.0
 * @category models
 */
export type Version = tls.SecureVersion

/**
 * The oldest TLS version accepted unless `minVersion` says otherwise: `"TLSv1.2"` (RFC 8996
 * deprecates 1.0 and 1.1).
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_MIN_VERSION: Version = internal.DEFAULT_MIN_VERSION

/**
 * Certificates, keys and versions, common to both sides.
 *
 * @since 0.1.0
 * @category models
 */
export interface ContextOptions {
  /**
   * A PEM bundle holding the certificate (chain) and its private key, as ReactPHP's
   * `local_cert`. `cert` and `key`, when given, take precedence over it.
   */
  readonly pem?: Pem
  /** The certificate, followed by its intermediates, in PEM. Needs `key`. */
  readonly cert?: Pem
  /** The private key of `cert`, in PEM, possibly encrypted (then give `passphrase`). */
  readonly key?: Pem
  /** The passphrase of an encrypted key; default none (an encrypted key then fails at once). */
  readonly passphrase?: string
  /**
   * The certificate authorities to trust when verifying the peer, in PEM; default Node's
   * trust store (its bundled Mozilla list, plus `NODE_EXTRA_CA_CERTS`). Giving `ca` replaces it.
   */
  readonly ca?: Pem | ReadonlyArray<Pem>
  /** The oldest TLS version to accept; default `"TLSv1.2"` ({@link DEFAULT_MIN_VERSION}). */
  readonly minVersion?: Version
  /** The newest TLS version to offer; default the newest Node supports (`"TLSv1.3"`). */
  readonly maxVersion?: Version
  /**
   * ALPN protocols to offer (client) or accept (server), most preferred first (RFC 7301), e.g.
   * `["h2", "http/1.1"]`; default none. The agreed one is {@link TlsConnection.alpnProtocol}.
   */
  readonly alpnProtocols?: ReadonlyArray<string>
}

/**
 * How a client verifies its peer.
 *
 * @since 0.1.0
 * @category models
 */
export interface VerifyOptions {
  /**
   * Verify the server's certificate chain against `ca` (or the default trust store); default
   * `true`. `false` accepts any certificate, including one an attacker made: the connection is
   * then encrypted but not authenticated, so a man in the middle can read and change it.
   */
  readonly verifyPeer?: boolean
  /**
   * Verify that the certificate is for the name connected to (RFC 6125); default `true`.
   * `false` accepts a valid certificate issued for any other name, which any holder of a
   * certificate from a trusted CA can present: again no protection against a man in the middle.
   */
  readonly verifyPeerName?: boolean
}

/**
 * Options of a client-side {@link upgrade}.
 *
 * @since 0.1.0
 * @category models
 */
export interface ClientOptions extends ContextOptions, VerifyOptions {
  readonly role: "client"
  /**
   * The name the certificate must be for, also sent as SNI unless it is an IP literal; default
   * the connection's remote IP (not `localhost`, which Node would check over an existing socket).
   */
  readonly peerName?: string
  /** The URI errors name; default the connection's remote address. */
  readonly uri?: string
  /** Bytes already read from the connection that belong to the TLS stream; see {@link upgrade}. */
  readonly unread?: Uint8Array
  /**
   * Fail with `Timeout` (`ETIMEDOUT`) if the handshake takes longer; default no limit
   * (`Duration.infinity`). A duration that is not positive (zero, a negative or `NaN` amount)
   * fails with `EINVAL`.
   */
  readonly handshakeTimeout?: Duration.DurationInput
}

/**
 * Certificates for server names other than the default one (SNI, RFC 6066 §3): the key is the
 * name, exact (`"example.com"`) or with one leading wildcard label (`"*.example.com"`); names
 * compare case-insensitively. A client asking for an unknown name gets the default certificate.
 *
 * @since 0.1.0
 * @category models
 */
export type ServerNameCertificates = Readonly<Record<string, Pick<ContextOptions, "pem" | "cert" | "key" | "passphrase">>>

/**
 * The server side's options, common to {@link upgrade} and `TlsServer.make`. A certificate and
 * its key (`pem`, or `cert` and `key`) are required.
 *
 * @since 0.1.0
 * @category models
 */
export interface ServerContextOptions extends ContextOptions {
  /** Certificates picked by the name the client asks for (SNI); default none. */
  readonly serverNames?: ServerNameCertificates
  /**
   * Ask the client for a certificate and require one that verifies against `ca` (or the default
   * trust store); default `false`. Its certificate is then {@link TlsConnection.peerCertificate}.
   */
  readonly requestCert?: boolean
}

/**
 * Options of a server-side {@link upgrade}.
 *
 * @since 0.1.0
 * @category models
 */
export interface ServerOptions extends ServerContextOptions {
  readonly role: "server"
  /** The server address errors name; default the connection's local address. */
  readonly address?: string
  /** Bytes already read from the connection that belong to the TLS stream; see {@link upgrade}. */
  readonly unread?: Uint8Array
  /**
   * Fail if the client has not completed the handshake by then (`ETIMEDOUT`); default 10 s.
   * `Duration.infinity` never; a duration that is not positive (zero, a negative or `NaN` amount)
   * fails with `EINVAL`.
   */
  readonly handshakeTimeout?: Duration.DurationInput
}

/**
 * What a completed handshake negotiated.
 *
 * @since 0.1.0
 * @category models
 */
export interface TlsInfo {
  /** The TLS version: `"TLSv1.2"`, `"TLSv1.3"`. */
  readonly protocol: string
  /** The cipher suite's OpenSSL name, e.g. `"TLS_AES_256_GCM_SHA384"`. */
  readonly cipher: string
  /** The ALPN protocol both sides agreed on (RFC 7301); `None` when none was. */
  readonly alpnProtocol: Option.Option<string>
  /** The SNI name: the one a client sent, or the one a server was asked for; `None` without SNI. */
  readonly serverName: Option.Option<string>
  /**
   * The peer's certificate with its issuer chain, as Node parses it; `None` when the peer sent
   * none (a client the server did not ask for one).
   */
  readonly peerCertificate: Option.Option<tls.DetailedPeerCertificate>
}

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: typeof internal.TypeId = internal.TypeId

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * A `Connection` over TLS. Its addresses use the `tls://` scheme where the plain connection's
 * used `tcp://` (`tls://127.0.0.1:443`); Unix-domain addresses keep `unix://`.
 *
 * @since 0.1.0
 * @category models
 */
export interface TlsConnection extends Connection, TlsInfo {
  readonly [TypeId]: TypeId
}

/**
 * Whether `u` is a {@link TlsConnection}.
 *
 * @since 0.1.0
 * @category guards
 */
export const isTlsConnection = (u: unknown): u is TlsConnection => typeof u === "object" && u !== null && TypeId in u

/**
 * What the handshake of a connection negotiated, or `None` for a plaintext one.
 *
 * @since 0.1.0
 * @category accessors
 */
export const info = (connection: Connection): Option.Option<TlsInfo> =>
  isTlsConnection(connection) ? Option.some(connection) : Option.none()

/**
 * The default handshake timeout of the server side: 10 seconds, so that a client that connects
 * and says nothing does not hold a handshake slot.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_HANDSHAKE_TIMEOUT: Duration.Duration = internal.DEFAULT_HANDSHAKE_TIMEOUT

/**
 * Starts TLS on an open plaintext connection (STARTTLS) and returns the encrypted connection,
 * which replaces it: the old one's `read` ends and its `write` fails with `Closed`, while closing
 * it (or its scope) closes the TLS connection too, so the TLS connection lives exactly as long
 * as the plain one did.
 *
 * Bytes the plain connection read ahead and nobody pulled yet are handed to TLS, so a client
 * that sends its handshake right after `STARTTLS` loses nothing. Bytes already pulled that
 * belong to TLS (the rest of the chunk that held the `STARTTLS` line) go in `unread`.
 *
 * - `role: "client"`: verifies the server (chain and name, see {@link VerifyOptions}) and fails
 *   with a `ConnectError`: `Failed` in stage `"TLS handshake"` with Node's or OpenSSL's code
 *   (`Connection to tcp://127.0.0.1:25 failed during TLS handshake: Certificate has expired
 *   (CERT_HAS_EXPIRED)`), or `Timeout` after `handshakeTimeout`.
 * - `role: "server"`: fails with a `ServerError` of reason `Handshake` that names the client's
 *   address; the handshake times out after 10 s by default.
 *
 * Only connections made by this package (over a Node socket), not encrypted yet and not
 * upgraded before, can be upgraded. Any other fails at once with `EINVAL` (`ConnectError` or
 * `ServerError` as above: `… Connection was already upgraded to TLS (EINVAL)`) and is left as it
 * is, so that a second `upgrade` of the same plain connection does not disturb the TLS
 * connection the first one returned. On any other failure and on interruption the socket is
 * closed.
 *
 * @since 0.1.0
 * @category constructors
 */
export function upgrade(connection: Connection, options: ClientOptions): Effect.Effect<TlsConnection, ConnectError>
export function upgrade(connection: Connection, options: ServerOptions): Effect.Effect<TlsConnection, ServerError>
export function upgrade(
  connection: Connection,
  options: ClientOptions | ServerOptions
): Effect.Effect<TlsConnection, ConnectError | ServerError> {
  if (options.role === "client") {
    return internal.upgradeClient(connection, internal.clientConfig(options), {
      uri: options.uri ?? Option.getOrElse(connection.remoteAddress, () => "unknown"),
      peerName: options.peerName,
      unread: options.unread,
      owned: false
    })
  }
  return internal.upgradeServer(connection, internal.serverConfig(options), {
    address: options.address ?? Option.getOrElse(connection.localAddress, () => "unknown"),
    unread: options.unread,
    owned: false
  })
}
