import type { Connection } from "@effect-socket/socket/Connection"
import { ConnectError, ServerError } from "@effect-socket/socket/SocketError"
import { isIP } from "@effect-socket/socket/SocketUri"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import { constVoid } from "effect/Function"
import * as Option from "effect/Option"
import * as crypto from "node:crypto"
import type * as net from "node:net"
import * as tls from "node:tls"
import type { ClientOptions, ContextOptions, ServerContextOptions, TlsInfo } from "../Tls.js"
import { invalidOption } from "@effect-socket/socket/internal/options"
import type { Timer } from "@effect-socket/socket/internal/timer"
import { withTimer } from "@effect-socket/socket/internal/timer"
import type { AddressFormat } from "./socketConnection.js"
import { SocketConnection } from "./socketConnection.js"

/** PEM text, as a string or its bytes. */
export type Pem = string | Uint8Array

/** What went wrong, before it becomes a ConnectError, ServerError or ListenError. */
export interface Failure {
  readonly code: string
  readonly detail: string
  readonly cause?: unknown
}

/** The TLS version used when none is configured: TLS 1.0 and 1.1 are deprecated (RFC 8996). */
export const DEFAULT_MIN_VERSION: tls.SecureVersion = "TLSv1.2"

/** The server side's handshake timeout unless configured. */
export const DEFAULT_HANDSHAKE_TIMEOUT: Duration.Duration = Duration.seconds(10)

const pemText = (pem: Pem): string | Buffer =>
  typeof pem === "string" ? pem : Buffer.from(pem.buffer, pem.byteOffset, pem.byteLength)

/** The text of a PEM, to look for its blocks; anything else an untyped caller passes has none. */
const pemString = (pem: unknown): string =>
  typeof pem === "string" ? pem : pem instanceof Uint8Array ? Buffer.from(pem.buffer, pem.byteOffset, pem.byteLength).toString("latin1") : ""

/** The PEM blocks of a certificate and of a private key (PKCS#8, encrypted or not, or PKCS#1/SEC 1). */
const PEM_CERTIFICATE = /-----BEGIN (?:TRUSTED |X509 )?CERTIFICATE-----/
const PEM_PRIVATE_KEY = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----/

const capitalize = (text: string) => (text.length > 0 ? text[0]!.toUpperCase() + text.slice(1) : text)

/**
 * The code and a readable sentence for an error from Node's TLS layer: OpenSSL's reason
 * (`wrong version number`) rather than its full error string, Node's verification message
 * (`certificate has expired`) with its code (`CERT_HAS_EXPIRED`).
 */
export const describeTlsError = (error: unknown, fallbackCode = "EPROTO"): Failure => {
  const e = error as (Error & { code?: unknown; reason?: unknown; library?: unknown }) | undefined
  const code = typeof e?.code === "string" ? e.code : fallbackCode
  // OpenSSL's errors carry `library` and `reason`; their message is OpenSSL's raw error string.
  const fromOpenSsl = typeof e?.library === "string" && typeof e.reason === "string"
  const text = fromOpenSsl ? String(e.reason) : e instanceof Error ? e.message : String(error)
  return { code, detail: capitalize(text.trim()), cause: error }
}

const lost: Failure = { code: "ECONNRESET", detail: "Connection lost during TLS handshake" }

/**
 * Builds a `SecureContext` now, so that a bad certificate, key or passphrase is reported at
 * once rather than at the first handshake. `needsCertificate` is true for servers.
 */
export const makeContext = (options: ContextOptions, needsCertificate: boolean): Either.Either<tls.SecureContext, Failure> => {
  // A bundle counts for what it holds: OpenSSL's own error for a missing part is `unsupported`.
  const fromBundle = (block: RegExp) =>
    options.pem !== undefined && block.test(pemString(options.pem)) ? options.pem : undefined
  const cert = options.cert ?? fromBundle(PEM_CERTIFICATE)
  const key = options.key ?? fromBundle(PEM_PRIVATE_KEY)
  if (needsCertificate && (cert === undefined || key === undefined)) {
    return Either.left({ code: "EINVAL", detail: "A TLS server needs a certificate and its private key (`pem`, or `cert` and `key`)" })
  }
  if ((cert === undefined) !== (key === undefined) || (options.pem !== undefined && cert === undefined)) {
    return Either.left({ code: "EINVAL", detail: "A certificate needs its private key, and a key its certificate" })
  }
  try {
    // Inside the try: a CA that is not PEM text or bytes (from untyped callers) is EINVAL too.
    const ca = options.ca === undefined ? undefined : Array.isArray(options.ca) ? options.ca.map(pemText) : pemText(options.ca as Pem)
    const context = tls.createSecureContext({
      minVersion: options.minVersion ?? DEFAULT_MIN_VERSION,
      ...(options.maxVersion !== undefined ? { maxVersion: options.maxVersion } : {}),
      ...(cert !== undefined ? { cert: pemText(cert) } : {}),
      ...(key !== undefined ? { key: pemText(key) } : {}),
      // An empty passphrase rather than none, so that OpenSSL never prompts on the terminal.
      passphrase: options.passphrase ?? "",
      ...(ca !== undefined ? { ca } : {})
    })
    // OpenSSL accepts a key that does not belong to the certificate; every handshake would fail.
    if (cert !== undefined && key !== undefined) {
      const privateKey = crypto.createPrivateKey({ key: pemText(key), passphrase: options.passphrase ?? "" })
      if (!new crypto.X509Certificate(pemText(cert)).checkPrivateKey(privateKey)) {
        return Either.left({ code: "ERR_OSSL_X509_KEY_VALUES_MISMATCH", detail: "The private key does not match the certificate" })
      }
    }
    return Either.right(context)
  } catch (error) {
    return Either.left(describeTlsError(error, "EINVAL"))
  }
}

/**
 * @internal
 */
export const TypeId: unique symbol = Symbol.for("@effect-socket/node/Tls/TlsConnection")

/** A `SocketConnection` over a `tls.TLSSocket`, with what its handshake negotiated. */
export class TlsSocketConnection extends SocketConnection implements TlsInfo {
  readonly [TypeId]: typeof TypeId = TypeId
  readonly protocol: string
  readonly cipher: string
  readonly alpnProtocol: Option.Option<string>
  readonly serverName: Option.Option<string>
  readonly peerCertificate: Option.Option<tls.DetailedPeerCertificate>

  constructor(
    socket: tls.TLSSocket,
    addresses: AddressFormat,
    highWaterMark: number,
    serverName: string | undefined,
    peer: tls.DetailedPeerCertificate | null = socket.getPeerCertificate(true)
  ) {
    super(socket, addresses, highWaterMark)
    // Read once now: after the socket closes, Node returns null for all of them.
    this.protocol = socket.getProtocol() ?? "unknown"
    this.cipher = socket.getCipher().name
    this.alpnProtocol = typeof socket.alpnProtocol === "string" ? Option.some(socket.alpnProtocol) : Option.none()
    this.serverName = Option.fromNullable(serverName)
    this.peerCertificate = peer !== null && Object.keys(peer).length > 0 ? Option.some(peer) : Option.none()
  }
}

/** A plain connection taken apart for an upgrade: its socket and how its TLS successor is named. */
interface Detached {
  readonly socket: net.Socket
  readonly highWaterMark: number
  readonly addresses: AddressFormat
  readonly remoteHost: string | undefined
}

const asTls = (address: Option.Option<string>) =>
  Option.getOrUndefined(Option.map(address, (a) => a.replace(/^tcp:\/\//, "tls://")))

/** The sockets handed to a TLS handshake: their plain connection cannot be upgraded again. */
const upgraded = new WeakSet<net.Socket>()

/**
 * `connection` as the socket connection it must be to be upgraded, or why it cannot be: it is
 * not a Node socket one, it is encrypted already, or its socket was handed to TLS before (a
 * second handshake over it would break the first one's session). Such a call fails without
 * touching the connection.
 */
const upgradable = (connection: Connection): Either.Either<SocketConnection, Failure> => {
  const refuse = (detail: string) => Either.left({ code: "EINVAL", detail })
  if (!(connection instanceof SocketConnection)) return refuse("Connection is not backed by a Node socket")
  if (connection instanceof TlsSocketConnection) return refuse("Connection is already encrypted")
  if (upgraded.has(connection.socket)) return refuse("Connection was already upgraded to TLS")
  return Either.right(connection)
}

/**
 * Takes the socket out of an {@link upgradable} `connection` for a TLS handshake: the
 * bytes it read ahead (and the `unread` ones the caller gives back, first) are pushed back into
 * the socket, where the TLS layer reads them before anything else. Fails without touching the
 * socket when the connection has already ended.
 */
const detach = (connection: SocketConnection, unread: Uint8Array | undefined): Either.Either<Detached, Failure> => {
  const socket = connection.socket
  if (socket.destroyed || socket.readableEnded) return Either.left(lost)
  const remote = asTls(connection.remoteAddress)
  upgraded.add(socket)
  const pending = connection.detach()
  const bytes = unread !== undefined && unread.length > 0 ? [unread, ...pending] : pending
  if (bytes.length > 0) socket.unshift(Buffer.concat(bytes))
  return Either.right({
    socket,
    highWaterMark: connection.highWaterMark,
    // The local address on first use, as a plain connection reads it (a system call each side).
    addresses: { remote: () => remote, local: () => asTls(connection.localAddress) },
    remoteHost: socket.remoteAddress
  })
}

/** A handshake timeout that is not a positive duration (which Effect would make zero) is EINVAL. */
const checkHandshakeTimeout = (options: { readonly handshakeTimeout?: Duration.DurationInput }): Either.Either<void, Failure> => {
  const invalid = invalidOption(options, { handshakeTimeout: "duration" })
  return invalid === undefined ? Either.void : Either.left({ code: "EINVAL", detail: invalid })
}

/** The client side's verification and negotiation settings, prepared once per connector. */
export interface ClientConfig {
  readonly context: tls.SecureContext
  readonly verifyPeer: boolean
  readonly verifyPeerName: boolean
  readonly alpnProtocols: ReadonlyArray<string> | undefined
  readonly handshakeTimeout: Duration.Duration | undefined
}

/** The server side's settings, prepared once per server. */
export interface ServerConfig {
  readonly context: tls.SecureContext
  readonly serverNames: ReadonlyMap<string, tls.SecureContext>
  readonly requestCert: boolean
  readonly alpnProtocols: ReadonlyArray<string> | undefined
  readonly handshakeTimeout: Duration.Duration
}

const alpnProtocols = (protocols: ReadonlyArray<string> | undefined): Either.Either<ReadonlyArray<string> | undefined, Failure> =>
  protocols === undefined ||
    (Array.isArray(protocols) && protocols.every((p) => typeof p === "string" && p.length > 0 && Buffer.byteLength(p) <= 255))
    ? Either.right(protocols)
    : Either.left({ code: "EINVAL", detail: "ALPN protocol names must be 1 to 255 bytes long" })

/** Prepares the client side once (its `SecureContext`); `TlsConnector` reuses it for every connection. */
export const clientConfig = (
  options: Omit<ClientOptions, "role" | "peerName" | "uri" | "unread">
): Either.Either<ClientConfig, Failure> =>
  Either.gen(function*() {
    yield* checkHandshakeTimeout(options)
    return {
      context: yield* makeContext(options, false),
      verifyPeer: options.verifyPeer ?? true,
      verifyPeerName: options.verifyPeerName ?? true,
      alpnProtocols: yield* alpnProtocols(options.alpnProtocols),
      handshakeTimeout: options.handshakeTimeout === undefined ? undefined : Duration.decode(options.handshakeTimeout)
    }
  })

/** Prepares the server side once: its `SecureContext`, and one per SNI name. */
export const serverConfig = (
  options: ServerContextOptions & { readonly handshakeTimeout?: Duration.DurationInput }
): Either.Either<ServerConfig, Failure> =>
  Either.gen(function*() {
    yield* checkHandshakeTimeout(options)
    const context = yield* makeContext(options, true)
    // A name's certificate inherits the trust and version settings, not the default credentials.
    const { cert: _cert, key: _key, passphrase: _passphrase, pem: _pem, ...shared } = options
    const serverNames = new Map<string, tls.SecureContext>()
    for (const [name, credentials] of Object.entries(options.serverNames ?? {})) {
      const named = yield* Either.mapLeft(
        makeContext({ ...shared, ...credentials }, true),
        (failure) => ({ ...failure, detail: `${failure.detail} (certificate for server name "${name}")` })
      )
      serverNames.set(name.toLowerCase(), named)
    }
    return {
      context,
      serverNames,
      requestCert: options.requestCert ?? false,
      alpnProtocols: yield* alpnProtocols(options.alpnProtocols),
      handshakeTimeout: Duration.decode(options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT)
    }
  })

/** How a handshake ends: with its connection, a failure, or past its timeout. */
type Outcome = Either.Either<TlsSocketConnection, Failure | "Timeout">

/** Stops a handshake in flight: its listeners and timer go, its socket is destroyed. */
export type Cancel = () => void

/**
 * Runs a handshake: `start` wraps the plain socket in a `TLSSocket`, and its events (or the
 * timer) report the outcome to `done`, once, through `onSecure` or a failure. Whatever the
 * outcome, the temporary listeners go; on failure or cancellation the TLS socket is destroyed,
 * and with it the plain socket under it. Callbacks rather than an effect, so that a server runs
 * its handshakes without a fiber each.
 */
const startHandshake = (
  plain: net.Socket,
  start: () => tls.TLSSocket,
  onSecure: (socket: tls.TLSSocket) => Outcome,
  secureEvent: "secure" | "secureConnect",
  timer: Timer | undefined,
  done: (outcome: Outcome) => void
): Cancel => {
  let socket: tls.TLSSocket
  try {
    socket = start()
  } catch (error) {
    plain.destroy()
    done(Either.left(describeTlsError(error, "EINVAL")))
    return constVoid
  }
  let settled = false
  let stopTimer: (() => void) | undefined = undefined
  const destroy = () => {
    // A listener stays so that an error the dying socket still emits is not uncaught.
    socket.on("error", constVoid)
    socket.destroy()
  }
  const cleanup = () => {
    settled = true
    stopTimer?.()
    socket.off(secureEvent, onSecureEvent)
    socket.off("error", onError)
    socket.off("end", onLost)
    socket.off("close", onLost)
  }
  const finish = (outcome: Outcome) => {
    if (settled) return
    cleanup()
    if (Either.isLeft(outcome)) destroy()
    done(outcome)
  }
  const onSecureEvent = () => finish(onSecure(socket))
  const onError = (error: Error) => finish(Either.left(isConnectionLoss(error) ? lost : describeTlsError(error)))
  // With half-open sockets, a peer's FIN before the handshake ends is only an `end` event.
  const onLost = () => finish(Either.left(lost))
  socket.once(secureEvent, onSecureEvent)
  socket.on("error", onError)
  socket.once("end", onLost)
  socket.once("close", onLost)
  stopTimer = timer?.(() => finish(Either.left("Timeout")))
  return () => {
    if (settled) return
    cleanup()
    destroy()
  }
}

const isConnectionLoss = (error: Error) => {
  const code = (error as NodeJS.ErrnoException).code
  return code === "ECONNRESET" || code === "EPIPE"
}

/** What the caller of an upgrade says about the connection. */
interface UpgradeOptions {
  /** Bytes already read from the connection that belong to the TLS stream. */
  readonly unread: Uint8Array | undefined
  /**
   * Whether the connection is the upgrade's to close on any failure (`TlsConnector`,
   * `TlsServer`), or the caller's (`Tls.upgrade`): then a connection that cannot be upgraded at
   * all is left untouched.
   */
  readonly owned: boolean
}

/**
 * Prepares the upgrade of `connection`: the configuration (bad options are reported first) and
 * the socket, or the failure and whether to close the connection: yes (as after a failed
 * handshake), unless it cannot be upgraded at all and is not `owned`: closing it would close the
 * TLS connection a first upgrade made of it.
 */
const prepare = <C>(
  connection: Connection,
  config: Either.Either<C, Failure>,
  options: UpgradeOptions
): Either.Either<readonly [C, Detached], { readonly failure: Failure; readonly close: boolean }> => {
  const target = upgradable(connection)
  const close = options.owned || Either.isRight(target)
  const prepared = Either.flatMap(config, (c) =>
    Either.flatMap(target, (plain) => Either.map(detach(plain, options.unread), (detached) => [c, detached] as const)))
  return Either.mapLeft(prepared, (failure) => ({ failure, close }))
}

/**
 * An upgrade as an effect: prepares it, then runs the handshake `begin` starts, whose failures
 * `failed` turns into the caller's error.
 */
const upgrade = <C extends { readonly handshakeTimeout: Duration.Duration | undefined }, E>(
  connection: Connection,
  config: Either.Either<C, Failure>,
  options: UpgradeOptions,
  failed: (failure: Failure | "Timeout", config: C | undefined) => E,
  begin: (config: C, plain: Detached, timer: Timer | undefined, done: (outcome: Outcome) => void) => Cancel
): Effect.Effect<TlsSocketConnection, E> =>
  Effect.suspend(() =>
    Either.match(prepare(connection, config, options), {
      onLeft: ({ close, failure }) => {
        const fail = Effect.fail(failed(failure, undefined))
        return close ? Effect.zipRight(connection.close, fail) : fail
      },
      onRight: ([c, plain]) =>
        withTimer(c.handshakeTimeout, (timer) =>
          Effect.async<TlsSocketConnection, E>((resume) => {
            const cancel = begin(c, plain, timer, (outcome) =>
              resume(Either.isRight(outcome) ? Either.right(outcome.right) : Either.left(failed(outcome.left, c))))
            return Effect.sync(cancel)
          }))
    })
  )

/**
 * The client side of a handshake over `connection`: sends `peerName` as SNI unless it is an IP
 * literal, verifies the chain (`verifyPeer`) and the name (`verifyPeerName`) against
 * `peerName` (default: the remote IP), never against Node's `localhost` fallback.
 */
export const upgradeClient = (
  connection: Connection,
  config: Either.Either<ClientConfig, Failure>,
  options: UpgradeOptions & { readonly uri: string; readonly peerName: string | undefined }
): Effect.Effect<TlsSocketConnection, ConnectError> =>
  upgrade(
    connection,
    config,
    options,
    (failure, config) =>
      failure === "Timeout"
        ? new ConnectError({
          reason: "Timeout",
          uri: options.uri,
          stage: "TLS handshake",
          code: "ETIMEDOUT",
          timeout: config?.handshakeTimeout ?? Duration.zero
        })
        : new ConnectError({ reason: "Failed", uri: options.uri, stage: "TLS handshake", ...failure }),
    (config, plain, timer, done) => {
      const peerName = options.peerName ?? plain.remoteHost ?? ""
      const serverName = peerName.length > 0 && !isIP(peerName) ? peerName : undefined
      // The peer's certificate as Node builds it for `checkServerIdentity` once the chain
      // verified, kept: building it walks and converts the whole chain (~200 µs each time).
      let peer: tls.DetailedPeerCertificate | undefined = undefined
      return startHandshake(
        plain.socket,
        () =>
          tls.connect({
            socket: plain.socket,
            secureContext: config.context,
            rejectUnauthorized: config.verifyPeer,
            // Node checks the name only when the chain verified, and against `localhost` when no
            // servername was given over an existing socket: the name is checked below instead.
            checkServerIdentity: (_host, certificate) => {
              peer = certificate as tls.DetailedPeerCertificate
              return undefined
            },
            ...(serverName !== undefined ? { servername: serverName } : {}),
            ...(config.alpnProtocols !== undefined ? { ALPNProtocols: [...config.alpnProtocols] } : {})
          }),
        (socket) => {
          const certificate = peer ?? socket.getPeerCertificate(true)
          const mismatch = config.verifyPeerName ? tls.checkServerIdentity(peerName, certificate) : undefined
          return mismatch !== undefined
            ? Either.left(describeTlsError(mismatch))
            : Either.right(new TlsSocketConnection(socket, plain.addresses, plain.highWaterMark, serverName, certificate))
        },
        "secureConnect",
        timer,
        done
      )
    }
  )

const serverNameContext = (names: ReadonlyMap<string, tls.SecureContext>, requested: string) => {
  const name = requested.toLowerCase()
  const dot = name.indexOf(".")
  return names.get(name) ?? (dot > 0 ? names.get(`*${name.slice(dot)}`) : undefined)
}

/**
 * The result of checking the client's certificate. Node keeps it on the TLS handle
 * (`tls.Server` reads it the same way); without that method the certificate counts as
 * unverified, so a change in Node fails closed.
 */
const clientVerifyError = (socket: tls.TLSSocket): Error | null => {
  const handle = (socket as unknown as { readonly ssl?: { readonly verifyError?: () => Error | null } }).ssl
  if (typeof handle?.verifyError !== "function") return new Error("Client certificate could not be verified")
  return handle.verifyError()
}

/**
 * The server side of a handshake over a detached socket. Picks the certificate by SNI name, asks
 * for and verifies a client certificate when `requestCert` is set.
 */
const startServer = (config: ServerConfig, plain: Detached, timer: Timer | undefined, done: (outcome: Outcome) => void): Cancel =>
  startHandshake(
    plain.socket,
    () =>
      new tls.TLSSocket(plain.socket, {
        isServer: true,
        secureContext: config.context,
        requestCert: config.requestCert,
        rejectUnauthorized: config.requestCert,
        ...(config.alpnProtocols !== undefined ? { ALPNProtocols: [...config.alpnProtocols] } : {}),
        ...(config.serverNames.size > 0
          ? {
            SNICallback: (name: string, callback: (error: Error | null, context?: tls.SecureContext) => void) =>
              callback(null, serverNameContext(config.serverNames, name) ?? config.context)
          }
          : {})
      }),
    (socket) => {
      const verifyError = config.requestCert ? clientVerifyError(socket) : null
      return verifyError !== null
        ? Either.left(describeTlsError(verifyError))
        : Either.right(new TlsSocketConnection(socket, plain.addresses, plain.highWaterMark, socket.servername || undefined))
    },
    "secure",
    timer,
    done
  )

/**
 * A server-side failure as a `Handshake` server error naming `address` and `remoteAddress` (the
 * remote address recorded before the handshake: once the socket is destroyed, Node no longer
 * knows the peer).
 */
const serverError = (address: string, remoteAddress: Option.Option<string>) =>
(failure: Failure | "Timeout", config: ServerConfig | undefined): ServerError =>
  new ServerError({
    reason: "Handshake",
    address,
    remoteAddress,
    ...(failure === "Timeout"
      ? { code: "ETIMEDOUT", detail: `TLS handshake timed out after ${Duration.format(config?.handshakeTimeout ?? Duration.zero)}` }
      : failure)
  })

/**
 * The server side of a handshake over `connection` (see {@link startServer}). Failures are
 * `Handshake` server errors that name `address` and the client.
 */
export const upgradeServer = (
  connection: Connection,
  config: Either.Either<ServerConfig, Failure>,
  options: UpgradeOptions & { readonly address: string }
): Effect.Effect<TlsSocketConnection, ServerError> =>
  upgrade(connection, config, options, serverError(options.address, connection.remoteAddress), startServer)

/**
 * {@link upgradeServer} for `TlsServer`, without an effect (no fiber per handshake): starts the
 * handshake over `connection`, which it owns, and reports its outcome to `done`. Returns how to
 * cancel it, or, when the connection cannot be handed to TLS at all, the error at once: the
 * caller then closes the connection.
 */
export const startServerHandshake = (
  connection: Connection,
  config: ServerConfig,
  address: string,
  timer: Timer | undefined,
  done: (outcome: Either.Either<TlsSocketConnection, ServerError>) => void
): Either.Either<Cancel, ServerError> => {
  const failed = serverError(address, connection.remoteAddress)
  return Either.match(prepare(connection, Either.right(config), { unread: undefined, owned: true }), {
    onLeft: ({ failure }) => Either.left(failed(failure, config)),
    onRight: ([config, plain]) =>
      Either.right(
        startServer(config, plain, timer, (outcome) => done(Either.isRight(outcome) ? Either.right(outcome.right) : Either.left(failed(outcome.left, config))))
      )
  })
}
