/**
 * A `Server` accepts connections, as ReactPHP's `ServerInterface`, in Effect's shape: the
 * accepted connections are a `Stream` (not pulling it is ReactPHP's `pause()`), non-fatal
 * errors are a second stream, and the server lives as long as the `Scope` that made it.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import * as FiberRefs from "effect/FiberRefs"
import { dual } from "effect/Function"
import * as Runtime from "effect/Runtime"
import * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import type { Connection } from "./Connection.js"
import type { Pull, Push } from "./internal/acceptPull.js"
import { acceptPullOf, acceptPushOf, fromStream } from "./internal/acceptPull.js"
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
    const pull = acceptPullOf(server)
    return Effect.zipRight(
      dieIfInvalid("Server.serve", { concurrency }, { concurrency: "positiveOrUnbounded" }),
      pull !== undefined
        ? serveFrom(pull, handler, concurrency, acceptPushOf(server))
        : Effect.scoped(Effect.flatMap(fromStream(server.connections), (streamPull) => serveFrom(streamPull, handler, concurrency)))
    )
  }
)

/** The connection a handler fiber serves, in its context next to its scope (internal to `serve`). */
interface HandledConnection {
  readonly _: unique symbol
}
const HandledConnection = Context.GenericTag<HandledConnection, Connection>("@effect-socket/socket/Server/HandledConnection")

/**
 * `serve` over a pull (see `internal/acceptPull.ts`). Per connection it costs a scope, a fiber, a
 * context with the two and an entry in the running handlers' map: the effect each handler fiber
 * runs is built once per `serve` (see docs/performance.md). Without a concurrency limit, a server
 * that offers a push (`AcceptPush`) has its connections' handlers started from its accept callback,
 * and the pull only tells the end.
 */
const serveFrom = <E, R>(
  pull: Pull,
  handler: (connection: Connection) => Effect.Effect<unknown, E, R>,
  concurrency: number | "unbounded",
  push?: Push
): Effect.Effect<void, ServerError, Exclude<R, Scope.Scope>> =>
  // Uninterruptible but for the waits, so that every connection taken from the pull ends up with
  // a handler or closed. The runtime is read inside: handler fibers start uninterruptible too.
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(Effect.runtime<Exclude<R, Scope.Scope>>(), (runtime) => {
      const slots = concurrency === "unbounded" ? undefined : Effect.unsafeMakeSemaphore(concurrency)
      // Take a slot before pulling, so that a busy server leaves new clients in the backlog.
      const takeSlot = slots === undefined ? undefined : restore(slots.take(1))
      const release = slots === undefined ? Effect.void : slots.release(1)
      // The running handler fibers, each with the context it started with (its scope and its
      // connection). A Map rather than a FiberSet: FiberSet.run adds a fiberIdWith, a tap and an
      // observer per fiber.
      const handlers = new Map<Fiber.RuntimeFiber<unknown, unknown>, Context.Context<never>>()
      let onEmpty: (() => void) | undefined = undefined
      const awaitEmpty = Effect.async<void>((resume) => {
        if (handlers.size === 0) return resume(Effect.void)
        onEmpty = () => resume(Effect.void)
      })
      const interruptAll = Effect.suspend(() =>
        handlers.size === 0 ? Effect.void : Fiber.interruptAll(Array.from(handlers.keys()))
      )
      // The handler fiber's last step: leaves the map, and wakes `awaitEmpty` after the last one.
      const leave = (fiber: Fiber.RuntimeFiber<unknown, unknown>) =>
        Effect.sync(() => {
          handlers.delete(fiber)
          if (handlers.size > 0 || onEmpty === undefined) return
          const resume = onEmpty
          onEmpty = undefined
          resume()
        })
      // After the handler, in this order: its scope closes, a failure is logged, the connection
      // closes, the slot is freed. Each step runs whatever the one before gave (a finalizer or a
      // connection's `close` may die), so that the fiber always leaves the map.
      const finish = (exit: Exit.Exit<unknown, unknown>) =>
        Effect.withFiberRuntime<void>((fiber) => {
          const context = handlers.get(fiber)!
          const scope = Context.get(context as Context.Context<Scope.Scope>, Scope.Scope) as Scope.CloseableScope
          const connection = Context.get(context as Context.Context<HandledConnection>, HandledConnection)
          return Effect.flatMap(Effect.exit(Scope.close(scope, exit)), (closed) => {
            const cause = Cause.sequential(
              Exit.isFailure(exit) ? exit.cause : Cause.empty,
              Exit.isFailure(closed) ? closed.cause : Cause.empty
            )
            return Effect.zipRight(
              Cause.isInterruptedOnly(cause) ? Effect.void : Effect.logDebug("connection handler failed", cause),
              Effect.zipRight(Effect.exit(connection.close), Effect.zipRight(release, leave(fiber)))
            )
          })
        })
      // What every handler fiber runs, built once per `serve` rather than per connection: a
      // parked handler holds no closure or frame of its own here, only the interruptible region's
      // `RevertFlags`. The fiber starts with its scope and connection in its context (see
      // `start`), enters the map with that context (where `finish` finds them, whatever the
      // handler does to its context), runs the handler interruptibly and `finish`es whatever its
      // exit.
      const handled = Effect.matchCauseEffect(Effect.interruptible(Effect.flatMap(HandledConnection, handler)), {
        onFailure: (cause) => finish(Exit.failCause(cause)),
        onSuccess: () => finish(Exit.void)
      })
      // The scope of the next pushed connection (see `accepted` below).
      let spare: Scope.CloseableScope | undefined = undefined
      const makeSpare = Effect.map(Scope.make(), (scope) => {
        spare = scope
      })
      const enter = Effect.withFiberRuntime<void, never, R | HandledConnection>((fiber) => {
        handlers.set(fiber, fiber.currentContext)
        return pushing && spare === undefined ? Effect.zipRight(makeSpare, handled) : handled
      })
      // Handler fibers get their context from the runtime alone: without the parent's stack of
      // contexts in their fiber refs (a handler fiber is never joined), `runFork` gives each a
      // one-entry stack instead of a copy of that stack (150 bytes less per parked handler).
      const fiberRefs = FiberRefs.delete(runtime.fiberRefs, FiberRef.currentContext)
      // One handler fiber, started at once on this fiber's runtime with the connection and its
      // scope added to its context: `provideService` around a fork costs two FiberRefs updates and
      // the scheduler's hop before the handler runs, 10 µs against 3 µs per connection. The fiber
      // starts uninterruptible (the runtime was read in this uninterruptible region), so it enters
      // the map and its one frame around the interruptible handler always runs `finish`.
      const start = (connection: Connection, scope: Scope.CloseableScope) => {
        // One copy of the runtime's services, not one per `Context.add`.
        const context = Context.unsafeMake(
          new Map(runtime.context.unsafeMap).set(Scope.Scope.key, scope).set(HandledConnection.key, connection)
        )
        Runtime.runFork(
          Runtime.make({
            context: context as Context.Context<R | HandledConnection>,
            fiberRefs,
            runtimeFlags: runtime.runtimeFlags
          }),
          enter
        )
      }
      // A connection pushed from the server's accept callback (no concurrency limit): its handler
      // fiber starts there and then, without waking this fiber. `Scope.make` is an effect, so each
      // handler fiber makes the scope of the next connection as its first step (fibers start
      // synchronously); should there be none, the connection is left to the pull.
      let pushing = false
      const accepted = (connection: Connection): boolean => {
        const scope = spare
        if (scope === undefined) return false
        spare = undefined
        start(connection, scope)
        return true
      }
      const closeAll = (connections: ReadonlyArray<Connection>) => Effect.forEach(connections, (c) => c.close, { discard: true })
      // A pull may return several connections: each after the first waits for its own slot.
      const startFrom = (connections: ReadonlyArray<Connection>, i: number): Effect.Effect<void> =>
        i === connections.length ? Effect.void : Effect.zipRight(
          i === 0 || takeSlot === undefined
            ? Effect.void
            : Effect.onInterrupt(takeSlot, () => closeAll(connections.slice(i))),
          Effect.flatMap(Scope.make(), (scope) => {
            start(connections[i]!, scope)
            return startFrom(connections, i + 1)
          })
        )
      // One slot, one pull, one handler fiber per connection pulled, until the pull ends; then
      // the handlers that have a connection finish.
      const step: Effect.Effect<void, ServerError> = Effect.matchCauseEffect(restore(pull), {
        onFailure: (cause) => Effect.zipRight(release, Effect.failCause(cause)),
        onSuccess: (chunk) =>
          chunk === undefined
            ? Effect.zipRight(release, restore(awaitEmpty))
            : Chunk.isEmpty(chunk)
            ? Effect.zipRight(release, loop)
            : Effect.zipRight(startFrom(Chunk.toReadonlyArray(chunk), 0), loop)
      })
      const loop = takeSlot === undefined ? step : Effect.zipRight(takeSlot, step)
      // Interrupted or failed: interrupt the handlers and wait for them to close their connections.
      if (push === undefined || slots !== undefined) return Effect.ensuring(loop, interruptAll)
      // Pushed connections stop before the handlers are interrupted.
      return Effect.flatMap(makeSpare, () => {
        pushing = true
        const unregister = push(accepted)
        return Effect.ensuring(
          loop,
          Effect.suspend(() => {
            pushing = false
            unregister()
            return interruptAll
          })
        )
      })
    })
  )
