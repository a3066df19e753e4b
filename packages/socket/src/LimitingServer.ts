/**
 * A `Server` decorator that caps the number of open connections, as ReactPHP's
 * `LimitingServer`. Over the limit it either rejects new connections (closes them and reports
 * `Limit` on `errors`) or, with `pauseOnLimit`, stops pulling the inner server, so that new
 * clients wait unread in its bounded accept queue until a slot frees.
 *
 * @since 0.1.0
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Connection } from "./Connection.js"
import { dieIfInvalid } from "./internal/options.js"
import type { Server } from "./Server.js"
import { TypeId } from "./Server.js"
import { ServerError } from "./SocketError.js"

/**
 * Options of {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * The most connections open at once, a positive integer; `null` counts them without limiting
   * (ReactPHP's `null`).
   */
  readonly limit: number | null
  /**
   * Over the limit, stop pulling the inner server instead of rejecting; default `false`.
   * Ignored when `limit` is `null`.
   */
  readonly pauseOnLimit?: boolean
}

/**
 * A `Server` that also lists its open connections.
 *
 * @since 0.1.0
 * @category models
 */
export interface LimitingServer extends Server {
  /** The connections handed out and not yet closed (ReactPHP's `getConnections()`). */
  readonly openConnections: Effect.Effect<ReadonlyArray<Connection>>
}

/**
 * Wraps `server`. A connection holds its slot until it is closed, by `close`, by the peer, or
 * by `Server.serve` when its handler ends. Rejected connections are closed at once and reported
 * on `errors` as `Limit` (`ECONNREFUSED`). Watching for closes runs in the scope's fibers. A
 * `limit` that is neither a positive integer nor `null` is a programming error: the effect dies
 * with an `IllegalArgumentException` (`LimitingServer.make: Invalid option limit: NaN, expected
 * null or an integer from 1 to 2147483647`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (server: Server, options: Options): Effect.Effect<LimitingServer, never, Scope.Scope> =>
  Effect.gen(function*() {
    const { limit } = options
    yield* dieIfInvalid("LimitingServer.make", options, { limit: "positiveOrNull" })
    const pauseOnLimit = limit !== null && (options.pauseOnLimit ?? false)
    const scope = yield* Effect.scope
    const rejections = yield* Effect.acquireRelease(PubSub.sliding<ServerError>(256), PubSub.shutdown)
    const slots = pauseOnLimit ? yield* Effect.makeSemaphore(limit) : undefined
    const open = new Set<Connection>()

    const admit = (connection: Connection) =>
      Effect.gen(function*() {
        open.add(connection)
        const free = Effect.sync(() => open.delete(connection)).pipe(Effect.zipRight(slots?.release(1) ?? Effect.void))
        yield* Effect.forkIn(Effect.ensuring(connection.closed, free), scope)
      })

    const reject = (connection: Connection) =>
      Effect.gen(function*() {
        const remoteAddress = connection.remoteAddress
        yield* connection.close
        yield* PubSub.publish(rejections, new ServerError({
          reason: "Limit",
          address: server.address,
          remoteAddress,
          code: "ECONNREFUSED",
          detail: `Connection closed because server reached connection limit of ${limit}`
        }))
      })

    const connections = Stream.unwrapScoped(Effect.gen(function*() {
      const pull = yield* Stream.toPull(server.connections)
      if (slots === undefined) {
        // Reject mode: every pulled connection is admitted or rejected at once.
        const admitOrReject = (connection: Connection) =>
          limit !== null && open.size >= limit
            ? Effect.as(reject(connection), Option.none<Connection>())
            : Effect.as(admit(connection), Option.some(connection))
        return Stream.repeatEffectChunkOption(Effect.flatMap(pull, (chunk) =>
          Effect.map(Effect.forEach(chunk, admitOrReject), (results) => Chunk.compact(Chunk.fromIterable(results)))))
      }
      // Pause mode: take a slot before each pull, hand out one connection per slot.
      let pending: Array<Connection> = []
      const next = Effect.gen(function*() {
        yield* slots.take(1)
        if (pending.length === 0) {
          pending = Array.from(yield* Effect.onError(pull, () => slots.release(1)))
        }
        const connection = pending.shift()!
        yield* admit(connection)
        return Chunk.of(connection)
      })
      return Stream.repeatEffectChunkOption(next)
    }))

    return {
      [TypeId]: TypeId,
      address: server.address,
      connections,
      errors: Stream.merge(server.errors, Stream.fromPubSub(rejections)),
      openConnections: Effect.sync(() => Array.from(open))
    } satisfies LimitingServer
  })
