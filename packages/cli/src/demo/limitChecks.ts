/**
 * The demo's `LimitingServer` checks: over the limit a connection is either rejected (closed at
 * once and reported on `errors`) or, with `pauseOnLimit`, kept waiting until a slot frees.
 */
import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as TcpServer from "@effect-socket/node/TcpServer"
import type { Connection } from "@effect-socket/socket/Connection"
import * as LimitingServer from "@effect-socket/socket/LimitingServer"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type { Check } from "./Check.js"
import { serveEcho } from "./echoTransfer.js"

/** Reads until `text` has come back. */
const echoed = (connection: Connection, text: string) =>
  connection.read.pipe(
    Stream.decodeText(),
    Stream.scan("", (all, chunk) => all + chunk),
    Stream.takeUntil((all) => all.length >= text.length),
    Stream.runLast,
    Effect.flatMap((all) =>
      Option.getOrElse(all, () => "") === text ? Effect.void : Effect.fail(new Error(`no echo of "${text}"`))
    )
  )

/** Writes `text` and waits for it to come back: the connection is being served. */
const roundTrip = (connection: Connection, text: string) => Effect.zipRight(connection.write(text), echoed(connection, text))

/** A limited echo server on 127.0.0.1. */
const limitedEcho = (options: LimitingServer.Options) =>
  Effect.gen(function*() {
    const server = yield* LimitingServer.make(yield* TcpServer.make("127.0.0.1:0"), options)
    yield* serveEcho(server)
    return server
  })

const rejectOnLimit: Check = {
  name: "LimitingServer reject",
  run: Effect.gen(function*() {
    const server = yield* limitedEcho({ limit: 2 })
    const firstError = yield* Effect.forkScoped(Stream.runHead(server.errors))
    const first = yield* TcpConnector.connect(server.address)
    const second = yield* TcpConnector.connect(server.address)
    yield* roundTrip(first, "one")
    yield* roundTrip(second, "two")
    // The third is accepted by the kernel, then closed by the server without a byte.
    const third = yield* TcpConnector.connect(server.address)
    yield* third.write("three").pipe(Effect.ignore)
    const answered = yield* Stream.runCollect(third.read).pipe(Effect.map((chunks) => chunks.length), Effect.orElseSucceed(() => 0))
    if (answered > 0) return yield* Effect.fail(new Error("the third connection was served"))
    const error = yield* Fiber.join(firstError)
    if (Option.isNone(error) || error.value.reason !== "Limit") return yield* Effect.fail(new Error("no Limit error reported"))
    const open = (yield* server.openConnections).length
    return { result: `limit 2: 3rd connection rejected and reported (${error.value.code}), ${open} open`, speed: "" }
  })
}

const pauseOnLimit: Check = {
  name: "LimitingServer pause",
  run: Effect.gen(function*() {
    const server = yield* limitedEcho({ limit: 1, pauseOnLimit: true })
    const first = yield* TcpConnector.connect(server.address)
    yield* roundTrip(first, "one")
    const second = yield* TcpConnector.connect(server.address)
    yield* second.write("two")
    // Not served while the first holds the only slot…
    const early = yield* echoed(second, "two").pipe(Effect.timeout("100 millis"), Effect.option)
    if (Option.isSome(early)) return yield* Effect.fail(new Error("the second connection was served over the limit"))
    // …and served, with what it sent meanwhile, once the first closes.
    yield* first.close
    yield* echoed(second, "two")
    return { result: "limit 1: 2nd connection waited, then served after the 1st closed", speed: "" }
  })
}

export const limitChecks: ReadonlyArray<Check> = [rejectOnLimit, pauseOnLimit]
