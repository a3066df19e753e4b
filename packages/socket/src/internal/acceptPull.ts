/**
 * A protocol between servers and `Server.serve`, internal to effect-socket: a server that keeps
 * its accepted connections in a queue offers the queue's pull effect under {@link AcceptPull},
 * and `serve` pulls it directly instead of running `connections` through `Stream.toPull` (a
 * channel executor step per pull). Servers without it (decorators, test doubles) are served
 * through their stream as before.
 *
 * @internal
 */
import type * as Chunk from "effect/Chunk"
import type * as Effect from "effect/Effect"
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
