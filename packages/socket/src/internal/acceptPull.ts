/**
 * A protocol between servers and `Server.serve`, internal to effect-socket: a server that keeps
 * its accepted connections in a queue offers the queue's pull effect under {@link AcceptPull},
 * and `serve` pulls it directly instead of running `connections` through `Stream.toPull` (a
 * channel executor step per pull). Servers without it (decorators, test doubles) are served
 * through their stream as before, and decorators (`LimitingServer`) may offer a pull of their
 * own built on their inner server's.
 *
 * @internal
 */
import type * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Connection } from "../Connection.js"
import type { ServerError } from "../SocketError.js"

/**
 * The key of a server's pull: the same connections as its `connections` stream (pulling either
 * takes from the same queue), each pull giving those accepted so far (at least one, waiting
 * while there are none), `undefined` once the stream has ended, or the stream's error.
 *
 * @internal
 */
export const AcceptPull: unique symbol = Symbol.for("@effect-socket/socket/Server/AcceptPull")

/** @internal */
export type Pull = Effect.Effect<Chunk.Chunk<Connection> | undefined, ServerError>

/** @internal */
export interface HasAcceptPull {
  readonly [AcceptPull]: Pull
}

/** @internal */
export const acceptPullOf = (server: object): Pull | undefined =>
  AcceptPull in server ? (server as HasAcceptPull)[AcceptPull] : undefined

/**
 * The key of a server's push registration, beside its pull: `register(onConnection)` hands each
 * connection accepted from then on to `onConnection` from the accept callback, instead of waking
 * a pull (one fiber wake-up less per connection); `onConnection` returns `false` to leave that
 * connection to the pull after all. Pulls then give only the connections held before, and the
 * end. Returns the unregistration. One registration at a time: a later one replaces it.
 *
 * @internal
 */
export const AcceptPush: unique symbol = Symbol.for("@effect-socket/socket/Server/AcceptPush")

/** @internal */
export type Push = (onConnection: (connection: Connection) => boolean) => () => void

/** @internal */
export interface HasAcceptPush {
  readonly [AcceptPush]: Push
}

/** @internal */
export const acceptPushOf = (server: object): Push | undefined =>
  AcceptPush in server ? (server as HasAcceptPush)[AcceptPush] : undefined

/**
 * A pull over `connections` (`Stream.toPull`, alive as long as the scope): for a server that
 * offers no pull of its own. The stream's pull fails with `None` at its end and with
 * `Some(error)` when it fails; this one gives `undefined` and fails with the error.
 *
 * @internal
 */
export const fromStream = (connections: Stream.Stream<Connection, ServerError>): Effect.Effect<Pull, never, Scope.Scope> =>
  Effect.map(
    Stream.toPull(connections),
    (pull) => Effect.catchAll(pull, Option.match({ onNone: () => Effect.succeed(undefined), onSome: Effect.fail }))
  )
