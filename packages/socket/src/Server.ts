/**
 * A `Server` accepts connections, as ReactPHP's `ServerInterface`, in Effect's shape: the
 * accepted connections are a `Stream` (not pulling it is ReactPHP's `pause()`), non-fatal
 * errors are a second stream, and the server lives as long as the `Scope` that made it.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import { dual } from "effect/Function"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Connection } from "./Connection.js"
import { dieIfInvalid } from "./internal/options.js"
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
 * The default backlog of every server: ReactPHP's (and Node's) 511 connections waiting to be
 * accepted, in the kernel and, while nobody pulls `connections`, in the server's accept queue.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_BACKLOG = 511

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
   * How many connections are handled at once, a positive integer; default `"unbounded"`. While
   * every slot is busy the server's `connections` stream is not pulled, so new clients wait in
   * the backlog.
   */
  readonly concurrency?: number | "unbounded"
}

/**
 * Runs `handler` for every accepted connection, each in its own fiber and scope; the connection
 * is closed when its handler ends (success, failure or interruption). A handler failure is logged
 * at debug level and ends only that connection. Runs until the server's connection stream ends,
 * then waits for the running handlers; interrupting it interrupts every handler and closes every
 * connection it took from the stream. Fails only if the connection stream fails (and then
 * interrupts the handlers). A `concurrency` that is neither a positive integer nor
 * `"unbounded"` is a programming error: the effect dies at once with an
 * `IllegalArgumentException` (`Server.serve: Invalid option concurrency: 0, expected
 * "unbounded" or an integer from 1 to 2147483647`).
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
    return Effect.scoped(Effect.gen(function*() {
      yield* dieIfInvalid("Server.serve", { concurrency }, { concurrency: "positiveOrUnbounded" })
      const pull = yield* Stream.toPull(server.connections)
      const handlers = yield* FiberSet.make()
      const slots = concurrency === "unbounded" ? undefined : yield* Effect.makeSemaphore(concurrency)
      const takeSlot = slots === undefined ? Effect.void : slots.take(1)
      const release = slots === undefined ? Effect.void : slots.release(1)
      const closeAll = (connections: ReadonlyArray<Connection>) => Effect.forEach(connections, (c) => c.close, { discard: true })
      // After the handler, in this order: its scope closes, a failure is logged, the connection
      // closes, the slot is freed.
      const finish = (connection: Connection, scope: Scope.CloseableScope, exit: Exit.Exit<unknown, unknown>) =>
        Effect.zipRight(
          Scope.close(scope, exit),
          Effect.zipRight(
            Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)
              ? Effect.logDebug("connection handler failed", exit.cause)
              : Effect.void,
            Effect.zipRight(connection.close, release)
          )
        )
      // One handler fiber: it starts uninterruptible (as `step` runs), so its one frame around the
      // interruptible handler always runs `finish`. The scope is provided around the fork, not
      // inside the fiber: the fiber inherits it with no frame of its own. Per idle connection
      // this costs a third of `Effect.scoped` + `catchAllCause` + two `ensuring`s (see
      // docs/performance.md).
      const fork = (connection: Connection) =>
        Effect.flatMap(Scope.make(), (scope) =>
          FiberSet.run(
            handlers,
            Effect.matchCauseEffect(Effect.interruptible(handler(connection)), {
              onFailure: (cause) => finish(connection, scope, Exit.failCause(cause)),
              onSuccess: () => finish(connection, scope, Exit.void)
            })
          ).pipe(Effect.provideService(Scope.Scope, scope)))
      // One slot, one pull, one handler fiber per connection pulled. Uninterruptible but for the
      // waits, so that every connection taken from the stream ends up with a handler or closed.
      const step = Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          // Take a slot before pulling, so that a busy server leaves new clients in the backlog.
          yield* restore(takeSlot)
          const chunk = yield* restore(pull).pipe(
            Effect.onError(() => release),
            // The pull fails with None when the stream ends and with Some(error) when it fails.
            Effect.catchAll(Option.match({ onNone: () => Effect.succeed(undefined), onSome: Effect.fail }))
          )
          if (chunk === undefined) return false
          const connections = Array.from(chunk)
          if (connections.length === 0) yield* release
          for (const [i, connection] of connections.entries()) {
            // A pull may return several connections: each further one waits for its own slot.
            if (i > 0) yield* restore(takeSlot).pipe(Effect.onInterrupt(() => closeAll(connections.slice(i))))
            yield* fork(connection)
          }
          return true
        })
      )
      let more = true
      while (more) more = yield* step
      // The stream ended: let the handlers that have a connection finish.
      yield* FiberSet.awaitEmpty(handlers)
    })) as Effect.Effect<void, ServerError, Exclude<R, Scope.Scope>>
  }
)
