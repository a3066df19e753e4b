/**
 * `LimitingServer.make`'s checks, and its behaviour over an inner server read through its stream
 * (MemoryNetwork, whose connections call back on close) and through an internal accept pull
 * (connections watched through `closed`). Over real sockets and node's accept pull: the node
 * package's LimitingServer.test.ts.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Connection from "../src/Connection.js"
import * as Connector from "../src/Connector.js"
import { AcceptPull, fromStream } from "../src/internal/acceptPull.js"
import * as LimitingServer from "../src/LimitingServer.js"
import * as MemoryNetwork from "../src/MemoryNetwork.js"
import * as Server from "../src/Server.js"

describe("LimitingServer.make", () => {
  it.scoped("a limit that is neither a positive integer nor null is a defect, with what was wrong", () =>
    Effect.gen(function*() {
      const server = yield* MemoryNetwork.listen("memory://limited")
      for (const limit of [NaN, -1, 0, 1.5]) {
        for (const pauseOnLimit of [false, true]) {
          const exit = yield* Effect.exit(LimitingServer.make(server, { limit, pauseOnLimit }))
          const defect = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.dieOption(exit.cause)) : undefined
          assert.isTrue(Cause.isIllegalArgumentException(defect), String(exit))
          assert.strictEqual(
            (defect as Error).message,
            `LimitingServer.make: Invalid option limit: ${limit}, expected null or an integer from 1 to 2147483647`
          )
        }
      }
      assert.strictEqual((yield* LimitingServer.make(server, { limit: null })).address, "memory://limited")
    }).pipe(Effect.provide(MemoryNetwork.layer)))
})

/** Lets every runnable fiber run until it suspends. */
const settle = Effect.repeatN(Effect.yieldNow(), 50)

const decoder = new TextDecoder()

/** Everything `connection` reads until the peer ends, as text. */
const readText = (connection: Connection.Connection) =>
  Effect.map(Stream.runCollect(connection.read), (chunks) => Chunk.toReadonlyArray(chunks).map((c) => decoder.decode(c)).join(""))

/** The same connection without the internal close callback: watched through `closed`. */
const withoutOnClose = (connection: Connection.Connection): Connection.Connection => ({
  [Connection.TypeId]: Connection.TypeId,
  get remoteAddress() {
    return connection.remoteAddress
  },
  get localAddress() {
    return connection.localAddress
  },
  read: connection.read,
  pull: connection.pull,
  write: connection.write,
  sink: connection.sink,
  end: connection.end,
  closed: connection.closed,
  close: connection.close
})

/** A double of `server` that offers only an accept pull (its stream dies if run), over connections without the close callback. */
const acceptPullOnly = (server: Server.Server): Effect.Effect<Server.Server, never, Scope.Scope> =>
  Effect.map(fromStream(server.connections), (pull) => ({
    [Server.TypeId]: Server.TypeId,
    address: server.address,
    connections: Stream.die("the inner stream must not be run when it offers an accept pull"),
    errors: server.errors,
    [AcceptPull]: Effect.map(pull, (chunk) => chunk === undefined ? undefined : Chunk.map(chunk, withoutOnClose))
  }))

/** The inner servers: a memory server as it is (a stream only; connections that call back on close), and that double. */
const inners = [
  ["a stream (MemoryNetwork)", Effect.succeed<Server.Server>],
  ["an accept pull, connections watched through closed", acceptPullOnly]
] as const

describe.each(inners)("LimitingServer over %s", (_, wrap) => {
  const limited = (options: LimitingServer.Options) =>
    Effect.flatMap(Effect.flatMap(MemoryNetwork.listen("memory://limited"), wrap), (inner) => LimitingServer.make(inner, options))
  const connect = Connector.connect("memory://limited")

  it.scoped("rejects over the limit, reports Limit on errors, and admits again once a connection is closed", () =>
    Effect.gen(function*() {
      const server = yield* limited({ limit: 2 })
      const errors = yield* Effect.fork(Stream.runCollect(Stream.take(server.errors, 1)))
      yield* settle
      const clients = yield* Effect.forEach([1, 2, 3], () => connect)
      const pull = yield* Stream.toPull(server.connections)
      const admitted = [...Chunk.toArray(yield* pull), ...Chunk.toArray(yield* pull)]
      assert.strictEqual(admitted.length, 2)
      // The third is pulled, closed and reported; the pull goes on waiting for the next client.
      const next = yield* Effect.fork(pull)
      assert.strictEqual(yield* readText(clients[2]!), "")
      const [error] = Chunk.toArray(yield* Fiber.join(errors))
      assert.strictEqual(error?.reason, "Limit")
      assert.include(error?.message ?? "", "connection limit of 2")
      assert.strictEqual((yield* server.openConnections).length, 2)
      yield* admitted[0]!.close
      yield* settle
      assert.deepStrictEqual(yield* server.openConnections, admitted.slice(1))
      const fourth = yield* connect
      const [connection] = Chunk.toArray(yield* Fiber.join(next))
      assert.deepStrictEqual(connection?.remoteAddress, fourth.localAddress)
      assert.strictEqual((yield* server.openConnections).length, 2)
    }).pipe(Effect.provide(MemoryNetwork.layer)))

  it.scoped("with pauseOnLimit, a connection closed by its peer frees its slot for the waiting client", () =>
    Effect.gen(function*() {
      const server = yield* limited({ limit: 1, pauseOnLimit: true })
      const first = yield* connect
      const pull = yield* Stream.toPull(server.connections)
      const [admitted] = Chunk.toArray(yield* pull)
      const second = yield* connect
      const waiting = yield* Effect.fork(pull)
      yield* settle
      assert.isNull(waiting.unsafePoll(), "no second connection while the slot is taken")
      yield* first.close
      const [next] = Chunk.toArray(yield* Fiber.join(waiting))
      assert.deepStrictEqual(next?.remoteAddress, second.localAddress)
      assert.deepStrictEqual(yield* server.openConnections, [next!])
      assert.notStrictEqual(next, admitted)
    }).pipe(Effect.provide(MemoryNetwork.layer)))

  it.scoped("with pauseOnLimit, Server.serve never runs more handlers than the limit and serves every client", () =>
    Effect.gen(function*() {
      const server = yield* limited({ limit: 2, pauseOnLimit: true })
      let running = 0
      let peak = 0
      let peakOpen = 0
      yield* Effect.forkScoped(Server.serve(server, (connection) =>
        Effect.gen(function*() {
          running++
          peak = Math.max(peak, running)
          peakOpen = Math.max(peakOpen, (yield* server.openConnections).length)
          const request = yield* readText(connection)
          yield* settle
          yield* connection.write(request)
          running--
        })))
      const answers = yield* Effect.forEach(
        Array.from({ length: 6 }, (_, i) => `#${i}`),
        (request) =>
          Effect.scoped(Effect.gen(function*() {
            const client = yield* connect
            yield* client.write(request)
            yield* client.end
            return yield* readText(client)
          })),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(answers, ["#0", "#1", "#2", "#3", "#4", "#5"])
      assert.strictEqual(peak, 2)
      assert.strictEqual(peakOpen, 2)
    }).pipe(Effect.provide(MemoryNetwork.layer)))

  it.scoped("with limit null, counts open connections without limiting", () =>
    Effect.gen(function*() {
      const server = yield* limited({ limit: null })
      yield* Effect.forEach([1, 2, 3], () => connect)
      const accepted = yield* Stream.runCollect(Stream.take(server.connections, 3))
      assert.strictEqual((yield* server.openConnections).length, 3)
      yield* Chunk.unsafeGet(accepted, 0).close
      yield* settle
      assert.strictEqual((yield* server.openConnections).length, 2)
    }).pipe(Effect.provide(MemoryNetwork.layer)))

  it.scoped("its connections stream and Server.serve take from one pull: a connection goes to one of them", () =>
    Effect.gen(function*() {
      const server = yield* limited({ limit: 10 })
      const [first, second] = yield* Effect.forEach([1, 2], () => connect)
      const taken = yield* Stream.runCollect(Stream.take(server.connections, 1))
      assert.deepStrictEqual(Chunk.unsafeGet(taken, 0).remoteAddress, first!.localAddress)
      const served: Array<Option.Option<string>> = []
      yield* Effect.forkScoped(Server.serve(server, (connection) => Effect.sync(() => served.push(connection.remoteAddress))))
      yield* settle
      assert.deepStrictEqual(served, [second!.localAddress])
    }).pipe(Effect.provide(MemoryNetwork.layer)))
})
