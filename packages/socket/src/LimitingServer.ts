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
import * as PubSub from "effect/PubSub"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Connection } from "./Connection.js"
import type { HasAcceptPull, Pull } from "./internal/acceptPull.js"
import { AcceptPull, acceptPullOf, fromStream } from "./internal/acceptPull.js"
import { onClosed } from "./internal/onClose.js"
import { dieIfInvalid } from "./internal/options.js"
import { fromPull } from "./internal/pullStream.js"
import * as Waiters from "./internal/waiters.js"
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
 * Wraps `server`, which it then consumes alone: through the accept pull that node servers offer
 * internally (`internal/acceptPull.ts`), else through one pull over `server.connections` made
 * at once and alive as long as the scope. Its own `connections` stream and the pull it offers
 * `Server.serve` take from that same pull, so either may be used, one at a time. A connection
 * holds its slot until it is closed, by `close`, by the peer, or by `Server.serve` when its
 * handler ends. Rejected connections are closed at once and reported on `errors` as `Limit`
 * (`ECONNREFUSED`). Closes are noticed from the connection's own close event where it offers
 * one (node and memory connections), else by a fiber in the scope. A `limit` that is neither a
 * positive integer nor `null` is a programming error: the effect dies with an
 * `IllegalArgumentException` (`LimitingServer.make: Invalid option limit: NaN, expected null or
 * an integer from 1 to 2147483647`).
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
    const inner = acceptPullOf(server) ?? (yield* fromStream(server.connections))
    const open = new Set<Connection>()
    const full = () => limit !== null && open.size >= limit
    // Pause mode: pulls wait here for a slot; connections pulled beyond the free slots wait in
    // `pending` (accepted, not handed out), so that the limit holds even under concurrent pulls.
    const slotFreed = Waiters.make()
    let pending: Array<Connection> = []

    // One function for every connection (no closure per connection).
    const free = (connection: Connection) => {
      open.delete(connection)
      if (pauseOnLimit) slotFreed.notify()
    }

    /** Admits connections from the front of `pulled` while there are slots; leaves the rest in it. */
    const admit = (pulled: Array<Connection>): Effect.Effect<Chunk.Chunk<Connection>> => {
      let n = 0
      while (n < pulled.length && !full()) open.add(pulled[n++]!)
      const admitted = pulled.splice(0, n)
      return Effect.as(
        Effect.forEach(admitted, (connection) => onClosed(connection, free, scope), { discard: true }),
        Chunk.unsafeFromArray(admitted)
      )
    }

    const reject = (connection: Connection) =>
      Effect.suspend(() => {
        const remoteAddress = connection.remoteAddress
        return Effect.zipRight(
          connection.close,
          PubSub.publish(rejections, new ServerError({
            reason: "Limit",
            address: server.address,
            remoteAddress,
            code: "ECONNREFUSED",
            detail: `Connection closed because server reached connection limit of ${limit}`
          }))
        )
      })

    // Both modes: interruptible only while waiting, so that connections taken from the inner
    // server are always handed out, kept pending or rejected (never lost with a slot taken).

    // Reject mode: every pulled connection is admitted or rejected at once; a pull whose
    // connections were all rejected pulls again.
    const rejecting: Pull = Effect.uninterruptibleMask((restore) => {
      const step: Pull = Effect.flatMap(restore(inner), (chunk) => {
        if (chunk === undefined) return Effect.succeed(undefined)
        const rest = Chunk.toArray(chunk)
        const admitted = admit(rest)
        if (rest.length === 0) return admitted
        return Effect.flatMap(admitted, (connections) =>
          Effect.zipRight(
            Effect.forEach(rest, reject, { discard: true }),
            Chunk.isEmpty(connections) ? step : Effect.succeed(connections)
          ))
      })
      return step
    })

    // Pause mode: while full, neither hand out nor pull the inner server (new clients wait in
    // its backlog); else hand out as many pending connections as there are slots, or pull.
    const pausing: Pull = Effect.uninterruptibleMask((restore) => {
      const step: Pull = Effect.suspend(() => {
        if (full()) return Effect.zipRight(restore(slotFreed.until(() => !full())), step)
        if (pending.length > 0) return admit(pending)
        return Effect.flatMap(restore(inner), (chunk) => {
          if (chunk === undefined) return Effect.succeed(undefined)
          pending = Chunk.toArray(chunk)
          return step
        })
      })
      return step
    })

    const pull = pauseOnLimit ? pausing : rejecting
    return {
      [TypeId]: TypeId,
      address: server.address,
      connections: fromPull(pull),
      errors: Stream.merge(server.errors, Stream.fromPubSub(rejections)),
      openConnections: Effect.sync(() => Array.from(open)),
      // `Server.serve` takes this pull directly, without a stream around it.
      [AcceptPull]: pull
    } satisfies LimitingServer & HasAcceptPull
  })
