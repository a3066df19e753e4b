/**
 * A `Stream` around a pull effect (the connection stream of servers, the read stream of node
 * connections).
 *
 * @internal
 */
import * as Channel from "effect/Channel"
import type * as Chunk from "effect/Chunk"
import type * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

/**
 * A stream that emits each chunk `pull` gives until it gives `undefined` (the end), failing as
 * `pull` fails. The same as `Stream.repeatEffectChunkOption` with `Option.none()` for the end,
 * but one `write` and one `flatMap` per chunk: that unfolding allocates several effects and
 * options per element, a measurable share of a small message's cost (docs/performance.md).
 */
export const fromPull = <A, E>(pull: Effect.Effect<Chunk.Chunk<A> | undefined, E>): Stream.Stream<A, E> => {
  const again = () => loop
  const loop: Channel.Channel<Chunk.Chunk<A>, unknown, E, unknown, void, unknown> = Channel.flatMap(
    Channel.fromEffect(pull),
    (chunk) => chunk === undefined ? Channel.void : Channel.flatMap(Channel.write(chunk), again)
  )
  return Stream.fromChannel(loop)
}
