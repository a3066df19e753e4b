/**
 * A `Server` accepts connections, as ReactPHP's `ServerInterface`, in Effect's shape: the
 * accepted connections are a `Stream` (not pulling it is ReactPHP's `pause()`), non-fatal
 * errors are a second stream, and the server lives as long as the `Scope` that made it.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Connection } from "./Connection.js"
import type { ServerError } from "./SocketError.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@effect-socket/socket/Server")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * @since 0.1.0
 * @category models
 */
export interface Server {
  readonly [TypeId]: TypeId
  /**
   * The bound address as a URI, with the real port after port 0: `tcp://127.0.0.1:41234`,
   * `tcp://[::1]:8080`, `tls://…`, `unix:///path` (ReactPHP's `getAddress()`).
   */
  readonly address: string
  /**
   * The accepted connections, in accept order. While nobody pulls, the server stops handing
   * out connections and holds new ones unread in a queue bounded by its backlog, so clients
   * wait as they would in the kernel's backlog. Each connection is closed at the latest when
   * the server's scope closes. Meant for a single consumer; ends when the server's scope closes.
   */
  readonly connections: Stream.Stream<Connection, ServerError>
  /**
   * Non-fatal events (accept errors such as `EMFILE`, backlog overflow, TLS handshake failures,
   * limit rejections), from the moment of subscription on. They never end `connections`.
   */
  readonly errors: Stream.Stream<ServerError>
}

/**
 * Whether `u` is a {@link Server}.
 *
 * @since 0.1.0
 * @category guards
 */
export const isServer = (u: unknown): u is Server => typeof u === "object" && u !== null && TypeId in u

/**
 * Options of {@link serve}.
 *
 * @since 0.1.0
 * @category models
 */
export interface ServeOptions {
  /**
   * How many connections are handled at once; default `"unbounded"`. While every slot is busy
   * the server's `connections` stream is not pulled, so new clients wait in the backlog.
   */
  readonly concurrency?: number | "unbounded"
}

/**
 * Runs `handler` for every accepted connection, each in its own fiber; the connection is closed
 * when its handler ends (success, failure or interruption). A handler failure is logged at
 * debug level and ends only that connection. Runs until the server's connection stream ends;
 * interrupting it interrupts every handler and closes their connections. Fails only if the
 * connection stream fails.
 *
 * @since 0.1.0
 * @category combinators
 */
export const serve: {
  <E, R>(
    handler: (connection: Connection) => Effect.Effect<unknown, E, R>,
    options?: ServeOptions
  ): (server: Server) => Effect.Effect<void, ServerError, Exclude<R, Scope.Scope>>
  <E, R>(
    server: Server,
    handler: (connection: Connection) => Effect.Effect<unknown, E, R>,
    options?: ServeOptions
  ): Effect.Effect<void, ServerError, Exclude<R, Scope.Scope>>
} = dual(
  (args) => isServer(args[0]),
  <E, R>(
    server: Server,
    handler: (connection: Connection) => Effect.Effect<unknown, E, R>,
    options?: ServeOptions
  ): Effect.Effect<void, ServerError, Exclude<R, Scope.Scope>> => {
    const concurrency = options?.concurrency ?? "unbounded"
    const handle = (connection: Connection) =>
      handler(connection).pipe(
        Effect.scoped,
        Effect.catchAllCause((cause) => Effect.logDebug("connection handler failed", cause)),
        Effect.ensuring(connection.close)
      )
    return Effect.scoped(Effect.gen(function*() {
      const pull = yield* Stream.toPull(server.connections)
      const slots = concurrency === "unbounded" ? undefined : yield* Effect.makeSemaphore(concurrency)
      // Take a slot before pulling, so that a busy server leaves new clients in the backlog.
      const next = slots === undefined
        ? pull
        : slots.take(1).pipe(Effect.zipRight(pull), Effect.onError(() => slots.release(1)))
      const release = slots === undefined ? Effect.void : slots.release(1)
      while (true) {
        const chunk = yield* next.pipe(
          Effect.asSome,
          // The pull fails with None when the stream ends and with Some(error) when it fails.
          Effect.catchAll(Option.match({ onNone: () => Effect.succeedNone, onSome: Effect.fail }))
        )
        if (Option.isNone(chunk)) break
        const connections = Array.from(chunk.value)
        if (slots !== undefined && connections.length !== 1) {
          // A pull may return several connections; each needs its own slot (the first has one).
          yield* slots.take(Math.max(0, connections.length - 1))
        }
        for (const connection of connections) {
          yield* Effect.forkScoped(Effect.ensuring(handle(connection), release))
        }
      }
    })) as Effect.Effect<void, ServerError, Exclude<R, Scope.Scope>>
  }
)
