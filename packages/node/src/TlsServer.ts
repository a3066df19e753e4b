/**
 * A TLS server, as ReactPHP's `SecureServer`: wraps any `Server` (TCP or Unix-domain) and
 * hands out a connection only once its TLS handshake has completed. A failed handshake (a
 * plaintext client, an unsupported version, an unknown client CA, a timeout) closes that socket
 * and becomes one `Handshake` event on `errors`; the server keeps serving.
 *
 * @since 0.1.0
 */
import type { Server } from "@effect-socket/socket/Server"
import { TypeId } from "@effect-socket/socket/Server"
import type { ServerError } from "@effect-socket/socket/SocketError"
import { ListenError } from "@effect-socket/socket/SocketError"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as PubSub from "effect/PubSub"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { invalidOption } from "@effect-socket/socket/internal/options"
import { timerIn } from "@effect-socket/socket/internal/timer"
import type { Start } from "./internal/concurrently.js"
import { mapConcurrently } from "./internal/concurrently.js"
import * as internal from "./internal/tls.js"
import type * as Tls from "./Tls.js"

/**
 * Options of {@link make}: the certificate and key (`pem`, or `cert` and `key`, with
 * `passphrase`) are required; `serverNames` adds certificates per SNI name; `requestCert` with
 * `ca` asks for and verifies client certificates; `minVersion` defaults to `"TLSv1.2"`.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options extends Tls.ServerContextOptions {
  /**
   * How long a client has to complete its handshake once accepted; default 10 seconds. Past
   * it the socket is closed and a `Handshake` error with `ETIMEDOUT` is reported. Measured with
   * Effect's `Clock`. `Duration.infinity` never times out; a duration that is not positive
   * (zero, a negative or `NaN` amount) fails `make` with `EINVAL`.
   */
  readonly handshakeTimeout?: Duration.DurationInput
  /**
   * How many handshakes run at once, a positive integer; default 511 (the default backlog).
   * While all are busy, the wrapped server is not pulled, so further clients wait in its
   * backlog: a slow client delays nobody as long as a slot is free, and accepting stays bounded.
   */
  readonly maxConcurrentHandshakes?: number
}

/**
 * The default bound on handshakes in flight: 511, `TcpServer`'s default backlog.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_MAX_CONCURRENT_HANDSHAKES = 511

const tlsAddress = (address: string) => address.replace(/^tcp:\/\//, "tls://")

const configure = (options: Options, uri: string): Either.Either<internal.ServerConfig, ListenError> => {
  const invalid = invalidOption(options, { maxConcurrentHandshakes: "positive" })
  if (invalid !== undefined) return Either.left(new ListenError({ reason: "Tls", uri, code: "EINVAL", detail: invalid }))
  return Either.mapLeft(internal.serverConfig(options), (failure) => new ListenError({ reason: "Tls", uri, ...failure }))
}

const wrap = (server: Server, config: internal.ServerConfig, maxConcurrentHandshakes: number) =>
  Effect.gen(function*() {
    const address = tlsAddress(server.address)
    const failures = yield* Effect.acquireRelease(PubSub.sliding<ServerError>(256), PubSub.shutdown)
    // Handshakes run on callbacks, not in a fiber each (see `mapConcurrently`); their timer and
    // their failures' reports use the runtime of the fiber that reads the connections.
    const handshakes = (runtime: Runtime.Runtime<never>): Start => {
      const timer = timerIn(runtime, config.handshakeTimeout)
      const report = (error: ServerError, close: Effect.Effect<void>) =>
        Runtime.runFork(runtime)(
          close.pipe(Effect.zipRight(PubSub.publish(failures, error)), Effect.zipRight(Effect.logDebug(error.message)))
        )
      return (connection, done) => {
        const started = internal.startServerHandshake(connection, config, address, timer, (outcome) => {
          if (Either.isRight(outcome)) return done(outcome.right)
          done(undefined)
          report(outcome.left, Effect.void)
        })
        if (Either.isRight(started)) return started.right
        // Not handed to TLS at all (not a Node socket, or reset while queued): closed here.
        report(started.left, connection.close)
        done(undefined)
        return undefined
      }
    }
    return {
      [TypeId]: TypeId,
      address,
      connections: Stream.unwrap(
        Effect.map(Effect.runtime<never>(), (runtime) =>
          mapConcurrently(server.connections, handshakes(runtime), maxConcurrentHandshakes))
      ),
      errors: Stream.merge(server.errors, Stream.fromPubSub(failures))
    } satisfies Server
  })

/**
 * Wraps `server`: its `address` becomes `tls://…` (a `unix://` address stays as it is), its
 * connections are `Tls.TlsConnection`s handed out in the order their handshakes complete, and
 * its `errors` carry the wrapped server's events plus one `Handshake` error per failed
 * handshake, naming the client's address:
 * `Connection from tcp://127.0.0.1:50312 failed during TLS handshake on tls://127.0.0.1:8443:
 * Wrong version number (ERR_SSL_WRONG_VERSION_NUMBER)`.
 *
 * The certificate, key, passphrase and SNI certificates are loaded now: an unusable one fails
 * with a `ListenError` of reason `Tls` and the TLS library's code (`ERR_OSSL_BAD_DECRYPT`,
 * `ERR_OSSL_PEM_NO_START_LINE`, `ERR_OSSL_X509_KEY_VALUES_MISMATCH`, or `EINVAL` when the
 * certificate or key is missing, or `handshakeTimeout` or `maxConcurrentHandshakes` is out of
 * range). Closing the scope of `server` closes every connection,
 * handshaking or not.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (server: Server, options: Options): Effect.Effect<Server, ListenError, Scope.Scope> =>
  Effect.flatMap(
    configure(options, tlsAddress(server.address)),
    (config) => wrap(server, config, options.maxConcurrentHandshakes ?? DEFAULT_MAX_CONCURRENT_HANDSHAKES)
  )

/**
 * {@link make} for a server not listening yet: checks `options` first, so that an unusable
 * certificate fails (naming `uri`) before anything listens, then runs `open` and wraps the
 * server it opens. `SocketServer.make("tls://…")` uses it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const listen = <E, R>(
  uri: string,
  open: Effect.Effect<Server, E, R>,
  options: Options
): Effect.Effect<Server, ListenError | E, R | Scope.Scope> =>
  Effect.flatMap(
    configure(options, uri),
    (config) =>
      Effect.flatMap(open, (server) => wrap(server, config, options.maxConcurrentHandshakes ?? DEFAULT_MAX_CONCURRENT_HANDSHAKES))
  )
