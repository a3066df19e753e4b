/**
 * The key-value protocol of examples/src/KeyValue.ts, unit-tested without a socket: the server
 * handler over `Connection.makePair`, client and server together over `MemoryNetwork`, and the
 * client's connection retries against a scripted `Connector` double under `TestClock`.
 */
import { Connection, Connector, MemoryNetwork, Server, SocketError } from "@effect-socket/socket"
import { assert, describe, it } from "@effect/vitest"
import { Chunk, Effect, Fiber, Layer, Option, Ref, Stream, TestClock } from "effect"
import * as KeyValue from "../src/KeyValue.js"

const refused = (uri: string) =>
  new SocketError.ConnectError({ reason: "Failed", uri, code: "ECONNREFUSED", detail: "Connection refused" })

/**
 * A connector double: fails with ECONNREFUSED `failures` times, then connects to an in-memory
 * server running the protocol's handler. Records the virtual time of every attempt.
 */
const flakyConnector = (failures: number, attempts: Ref.Ref<ReadonlyArray<number>>) =>
  Layer.effect(
    Connector.Connector,
    Effect.gen(function*() {
      const store = yield* KeyValue.makeStore
      return Connector.Connector.of({
        connect: (uri) =>
          Effect.gen(function*() {
            const now = yield* TestClock.currentTimeMillis
            const previous = yield* Ref.getAndUpdate(attempts, (times) => [...times, now])
            if (previous.length < failures) return yield* Effect.fail(refused(uri))
            const [client, server] = yield* Connection.makePair()
            yield* Effect.forkScoped(KeyValue.handler(store)(server).pipe(Effect.zipRight(server.end)))
            return client
          })
      })
    })
  )

describe("KeyValue", () => {
  it.scoped("the handler answers SET, GET and bad requests, one line each (Connection.makePair)", () =>
    Effect.gen(function*() {
      const store = yield* KeyValue.makeStore
      const [client, server] = yield* Connection.makePair()
      yield* Effect.fork(KeyValue.handler(store)(server).pipe(Effect.zipRight(server.end)))
      yield* client.write("GET a\nSET a one two\nGET a\nDELETE a\nGET\n")
      yield* client.end
      const lines = yield* client.read.pipe(Stream.decodeText(), Stream.splitLines, Stream.runCollect)
      assert.deepStrictEqual(Chunk.toReadonlyArray(lines), [
        "NOT_FOUND",
        "OK",
        "VALUE one two",
        "ERROR unknown request: DELETE a",
        "ERROR unknown request: GET"
      ])
    }))

  it.scoped("a client and the server share one store (MemoryNetwork)", () =>
    Effect.gen(function*() {
      const server = yield* MemoryNetwork.listen("tcp://127.0.0.1:7000")
      const store = yield* KeyValue.makeStore
      yield* Effect.forkScoped(Server.serve(server, KeyValue.handler(store)))
      const writer = yield* KeyValue.connect(server.address)
      yield* writer.set("colour", "dark blue")
      const reader = yield* KeyValue.connect(server.address)
      assert.deepStrictEqual(yield* reader.get("colour"), Option.some("dark blue"))
      assert.deepStrictEqual(yield* reader.get("size"), Option.none())
    }).pipe(Effect.provide(MemoryNetwork.layer)))

  it.scoped("connecting is retried after 100, 200 and 400 ms, then succeeds", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make<ReadonlyArray<number>>([])
      const fiber = yield* Effect.fork(
        Effect.flatMap(KeyValue.connect("tcp://127.0.0.1:7000"), (client) => client.get("x")).pipe(
          Effect.provide(flakyConnector(3, attempts)),
          Effect.scoped
        )
      )
      yield* TestClock.adjust("700 millis")
      assert.deepStrictEqual(yield* Fiber.join(fiber), Option.none())
      assert.deepStrictEqual(yield* Ref.get(attempts), [0, 100, 300, 700])
    }))

  it.scoped("after three retries the connect error is the client's failure", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make<ReadonlyArray<number>>([])
      const fiber = yield* Effect.fork(
        KeyValue.connect("tcp://127.0.0.1:7000").pipe(Effect.provide(flakyConnector(4, attempts)), Effect.scoped, Effect.flip)
      )
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      assert.strictEqual(error.message, "Connection to tcp://127.0.0.1:7000 failed: Connection refused (ECONNREFUSED)")
      assert.strictEqual((yield* Ref.get(attempts)).length, 4)
    }))

  it.scoped("bad input is not retried", () =>
    Effect.gen(function*() {
      const attempts = yield* Ref.make(0)
      const invalid = Layer.succeed(
        Connector.Connector,
        Connector.Connector.of({
          connect: (uri) =>
            Ref.update(attempts, (n) => n + 1).pipe(
              Effect.zipRight(Effect.fail(new SocketError.ConnectError({ reason: "InvalidUri", uri, code: "EINVAL" })))
            )
        })
      )
      const error = yield* KeyValue.connect("nonsense").pipe(Effect.provide(invalid), Effect.flip)
      assert.strictEqual(error._tag, "ConnectError")
      assert.strictEqual(yield* Ref.get(attempts), 1)
    }))

  it.scoped("a reply outside the protocol, or none, is a ProtocolError", () =>
    Effect.gen(function*() {
      const [client, server] = yield* Connection.makePair()
      const double = Layer.succeed(Connector.Connector, Connector.Connector.of({ connect: () => Effect.succeed(client) }))
      const session = yield* KeyValue.connect("tcp://127.0.0.1:7000").pipe(Effect.provide(double))
      // The fake server answers the first request with nonsense, then closes.
      yield* Effect.fork(server.write("HELLO\n").pipe(Effect.zipRight(server.end)))
      const wrong = yield* Effect.flip(session.get("a"))
      assert.strictEqual(wrong.message, `Unexpected reply to "GET a": HELLO`)
      const none = yield* Effect.flip(session.set("a", "b"))
      assert.strictEqual(none.message, `No reply to "SET a b": the server closed the connection`)
    }))
})
