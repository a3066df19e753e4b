/**
 * The terminal side of `connect` and `listen --mode stdio`: stdin as a byte stream, stdout as a
 * sink that waits until its bytes are flushed, and the bridge between them and a connection.
 */
import type { Connection } from "@effect-socket/socket/Connection"
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import type { Writable } from "node:stream"

/** Reading stdin or writing stdout failed (e.g. `EPIPE` when stdout's reader went away). */
export class StdioError extends Data.TaggedError("StdioError")<{ readonly stream: "stdin" | "stdout"; readonly cause: unknown }> {
  override get message() {
    const cause = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `Unable to ${this.stream === "stdin" ? "read from stdin" : "write to stdout"}: ${cause}`
  }
}

/** The bytes of stdin as they come, untouched (no decoding); ends on EOF. */
export const stdin: Stream.Stream<Uint8Array, StdioError> = NodeStream.fromReadable(
  () => process.stdin,
  (cause) => new StdioError({ stream: "stdin", cause }),
  { closeOnDone: false }
)

/** Writes one chunk; completes once Node has handed it to the OS, so nothing is lost on exit. */
const writeFlushed = (writable: Writable, chunk: Uint8Array) =>
  Effect.async<void, StdioError>((resume) => {
    writable.write(chunk, (error) => resume(error ? Effect.fail(new StdioError({ stream: "stdout", cause: error })) : Effect.void))
  })

/**
 * A sink that writes every chunk to `writable` (stdout by default) and waits for each write to
 * be flushed: this is the backpressure that slows the connection's reads to stdout's pace.
 */
export const sinkTo = (writable: Writable): Sink.Sink<void, Uint8Array, never, StdioError> =>
  Sink.forEach((chunk: Uint8Array) => writeFlushed(writable, chunk))

/** {@link sinkTo} stdout. */
export const stdout: Sink.Sink<void, Uint8Array, never, StdioError> = Sink.suspend(() => sinkTo(process.stdout))

/**
 * Bridges a connection to the terminal as netcat does: `input` is written to the connection and
 * half-closes it on EOF; what the peer sends goes to `output`. Completes when the peer ends its
 * side (whether or not `input` is done, as a terminal may never reach EOF); fails if either
 * direction fails first.
 */
export const bridge = <E1, E2>(
  connection: Connection,
  input: Stream.Stream<Uint8Array, E1>,
  output: Sink.Sink<void, Uint8Array, never, E2>
) =>
  Effect.raceFirst(
    Stream.run(connection.read, output),
    // An upload that succeeds (EOF, FIN sent) never wins the race; one that fails does.
    Stream.run(input, connection.sink).pipe(Effect.zipRight(Effect.never))
  )
