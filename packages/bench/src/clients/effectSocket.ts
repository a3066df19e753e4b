import * as TcpConnector from "@effect-socket/node/TcpConnector"
import type { Connection } from "@effect-socket/socket/Connection"
import type { ConnectionError } from "@effect-socket/socket/SocketError"
import type * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { HOST } from "../protocol.js"
import type { ClientImpl, MeasureWindow } from "./client.js"
import { payload } from "./client.js"

type Pull = Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<ConnectionError>>

const byteLength = (chunk: Chunk.Chunk<Uint8Array>) => {
  let n = 0
  for (const data of chunk) n += data.length
  return n
}

/** Reads until `size` bytes have arrived (a stream end before that is a failure). */
const readExactly = (pull: Pull, size: number) =>
  Effect.gen(function*() {
    let received = 0
    while (received < size) received += byteLength(yield* pull)
  })

/** Reads and drops everything until the stream ends. */
const drain = (pull: Pull) =>
  Effect.catchAll(Effect.forever(pull), Option.match({ onNone: () => Effect.void, onSome: Effect.fail }))

const pingPongOne = (uri: string, message: Buffer, window: MeasureWindow) =>
  Effect.scoped(Effect.gen(function*() {
    const connection = yield* TcpConnector.connect(uri)
    const pull = yield* Stream.toPull(connection.read)
    while (window.running) {
      const sentAt = performance.now()
      yield* connection.write(message)
      yield* readExactly(pull, message.length)
      window.done(sentAt)
    }
    yield* connection.end
  }))

const connectOnce = (uri: string, byte: Buffer) =>
  Effect.scoped(Effect.gen(function*() {
    const connection: Connection = yield* TcpConnector.connect(uri)
    const pull = yield* Stream.toPull(connection.read)
    yield* connection.write(byte)
    yield* readExactly(pull, 1)
    yield* connection.end
    yield* drain(pull)
  }))

const connRateOne = (uri: string, byte: Buffer, window: MeasureWindow) =>
  Effect.gen(function*() {
    while (window.running) {
      const startedAt = performance.now()
      yield* connectOnce(uri, byte)
      window.done(startedAt)
    }
  })

const parallel = <E>(n: number, task: () => Effect.Effect<void, E>) =>
  Effect.runPromise(Effect.forEach(Array.from({ length: n }), task, { concurrency: "unbounded", discard: true }))

/** effect-socket's `TcpConnector.connect`, `read`, `write`, `sink` and `end`. */
export const effectSocketClient: ClientImpl = {
  bulk: ({ bytes, chunk, port }) => {
    const data = payload(chunk)
    const startedAt = performance.now()
    return Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const connection = yield* TcpConnector.connect(`tcp://${HOST}:${port}`)
      yield* Stream.run(Stream.repeatValue(data).pipe(Stream.take(Math.ceil(bytes / chunk))), connection.sink)
      yield* Stream.runDrain(connection.read)
      return { elapsedMs: performance.now() - startedAt }
    })))
  },
  pingPong: ({ connections, port, size, window }) =>
    parallel(connections, () => pingPongOne(`tcp://${HOST}:${port}`, payload(size), window)),
  connRate: ({ concurrency, port, window }) =>
    parallel(concurrency, () => connRateOne(`tcp://${HOST}:${port}`, payload(1), window))
}
