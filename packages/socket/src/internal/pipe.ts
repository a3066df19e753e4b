/**
 * `Connection.pipeTo`: the generic loop over `pull` and `write`, and the protocol through which
 * a connection offers a faster way to pipe into a destination it knows (as Go's `io.Copy` asks
 * for `WriterTo` / `ReaderFrom`).
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Connection } from "../Connection.js"
import type { ConnectionError } from "../SocketError.js"

/**
 * The key of a connection's own pipe: `connection[PipeTo](destination, end)` returns the effect
 * that pipes `connection` into `destination` (same contract as `Connection.pipeTo`), or
 * `undefined` when it has no better way than the generic loop for that destination.
 *
 * @internal
 */
export const PipeTo: unique symbol = Symbol.for("@effect-socket/socket/Connection/PipeTo")

/** @internal */
export interface PipesTo {
  readonly [PipeTo]: (destination: Connection, end: boolean) => Effect.Effect<void, ConnectionError> | undefined
}

const pipesTo = (connection: Connection): connection is Connection & PipesTo => PipeTo in connection

/** @internal */
export const pipeTo = (
  source: Connection,
  destination: Connection,
  options?: { readonly end?: boolean | undefined }
): Effect.Effect<void, ConnectionError> => {
  const end = options?.end ?? true
  return (pipesTo(source) ? source[PipeTo](destination, end) : undefined) ?? pipeByPull(source, destination, end)
}

/**
 * Pull, write every piece, pull again: the source is not read while the destination's `write`
 * waits for its buffer to drain, so at most what one pull gave is held here.
 */
const pipeByPull = (source: Connection, destination: Connection, end: boolean): Effect.Effect<void, ConnectionError> => {
  const write = destination.write
  const finish = end ? destination.end : Effect.void
  const loop: Effect.Effect<void, ConnectionError> = Effect.flatMap(source.pull, (next) => {
    if (Option.isNone(next)) return finish
    const chunk = next.value
    const written = Chunk.size(chunk) === 1
      ? write(Chunk.unsafeHead(chunk))
      : Effect.forEach(chunk, write, { discard: true })
    return Effect.zipRight(written, loop)
  })
  return loop
}
