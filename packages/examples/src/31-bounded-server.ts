/**
 * A server that serves at most N clients at once (default 2), with `Server.serve`'s
 * `concurrency`: further clients are connected but wait, unserved, in the accept backlog until a
 * slot frees; nobody is rejected. Each client is greeted with its number and the slots in use,
 * then every line it sends comes back upper-cased until it closes.
 *
 *   $ node packages/examples/dist/31-bounded-server.js 127.0.0.1:8000 2
 *   $ effect-socket connect 127.0.0.1:8000      (in three terminals: the third waits)
 *
 * What Effect adds: the bound is one option, the waiting costs no fiber and no buffer, and
 * closing the program's scope interrupts every handler and closes every connection.
 */
import { SocketServer } from "@effect-socket/node"
import { Server } from "@effect-socket/socket"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Ref, Stream } from "effect"

const concurrency = Number(process.argv[3] ?? 2)

const program = Effect.gen(function*() {
  const server = yield* SocketServer.make(process.argv[2] ?? "127.0.0.1:0")
  yield* Console.log(`Listening on ${server.address}, serving ${concurrency} clients at a time`)
  const served = yield* Ref.make(0)
  const busy = yield* Ref.make(0)

  yield* Server.serve(
    server,
    (connection) =>
      Effect.gen(function*() {
        const number = yield* Ref.updateAndGet(served, (n) => n + 1)
        const inUse = yield* Ref.updateAndGet(busy, (n) => n + 1)
        yield* connection.write(`Welcome, client #${number}: ${inUse} of ${concurrency} slots in use\n`)
        yield* connection.read.pipe(
          Stream.decodeText(),
          Stream.splitLines,
          Stream.runForEach((line) => connection.write(`${line.toUpperCase()}\n`))
        )
      }).pipe(Effect.ensuring(Ref.update(busy, (n) => n - 1))),
    { concurrency }
  )
})

NodeRuntime.runMain(Effect.scoped(program))
