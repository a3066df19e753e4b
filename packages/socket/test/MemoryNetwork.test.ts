import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import type * as Connection from "../src/Connection.js"
import * as Connector from "../src/Connector.js"
import * as MemoryNetwork from "../src/MemoryNetwork.js"
import * as Server from "../src/Server.js"
import * as TimeoutConnector from "../src/TimeoutConnector.js"

const decoder = new TextDecoder()

/** Lets every runnable fiber run until it suspends. */
const settle = Effect.repeatN(Effect.yieldNow(), 20)

const isPending = <A, E>(fiber: Fiber.Fiber<A, E>) =>
  Effect.zipRight(settle, Effect.map(Fiber.poll(fiber), Option.isNone))

/** Everything `connection` reads until the peer ends, as text. */
const readText = (connection: Connection.Connection) =>
  Effect.map(Stream.runCollect(connection.read), (chunks) => Chunk.toReadonlyArray(chunks).map((c) => decoder.decode(c)).join(""))

/** Takes the next connection from a server's stream, or None once it has ended. */
const accept = (server: Server.Server) =>
  Stream.toPull(server.connections).pipe(
    Effect.flatMap((pull) => pull),
    Effect.map(Chunk.head),
    Effect.catchAll(Option.match({ onNone: () => Effect.succeedNone, onSome: Effect.fail }))
  )

// A small line protocol, to test a client and a server together: `SET key value` → `OK`,
// `GET key` → `VALUE value` or `NOT_FOUND`, anything else → `ERROR unknown command`. A client
// silent for 30 seconds gets `TIMEOUT` and is disconnected.

class IdleTimeout {
  readonly _tag = "IdleTimeout"
}

const kvHandler = (store: Map<string, string>) => (connection: Connection.Connection) =>
  connection.read.pipe(
    Stream.decodeText(),
    Stream.splitLines,
    Stream.timeoutFail(() => new IdleTimeout(), "30 seconds"),
    Stream.runForEach((line) => {
      const [command, key = "", ...value] = line.split(" ")
      if (command === "SET") {
        store.set(key, value.join(" "))
        return connection.write("OK\n")
      }
      if (command === "GET") {
        const found = store.get(key)
        return connection.write(found === undefined ? "NOT_FOUND\n" : `VALUE ${found}\n`)
      }
      return connection.write("ERROR unknown command\n")
    }),
    Effect.catchTag("IdleTimeout", () => connection.write("TIMEOUT\n"))
  )

const kvClient = (uri: string) =>
  Effect.gen(function*() {
    const connection = yield* Connector.connect(uri)
    const pull = yield* Stream.toPull(connection.read.pipe(Stream.decodeText(), Stream.splitLines, Stream.rechunk(1)))
    /** The next line from the server; None once it has closed. */
    const readLine = pull.pipe(
      Effect.map(Chunk.head),
      Effect.catchAll(Option.match({ onNone: () => Effect.succeedNone, onSome: Effect.fail }))
    )
    const request = (line: string) => Effect.zipRight(connection.write(`${line}\n`), readLine)
    return { connection, readLine, request }
  })

const startKvServer = (address: string) =>
  Effect.gen(function*() {
    const server = yield* MemoryNetwork.listen(address)
    yield* Effect.forkScoped(Server.serve(server, kvHandler(new Map())))
    return server
  })

describe("MemoryNetwork", () => {
  describe("a line protocol client and server, together", () => {
    it.scoped("serve several clients that share the server's state", () =>
      Effect.gen(function*() {
        yield* startKvServer("tcp://127.0.0.1:6379")
        const alice = yield* kvClient("tcp://127.0.0.1:6379")
        const bob = yield* kvClient("127.0.0.1:6379")
        assert.deepStrictEqual(yield* alice.request("GET colour"), Option.some("NOT_FOUND"))
        assert.deepStrictEqual(yield* alice.request("SET colour dark blue"), Option.some("OK"))
        assert.deepStrictEqual(yield* bob.request("GET colour"), Option.some("VALUE dark blue"))
        assert.deepStrictEqual(yield* bob.request("DELETE colour"), Option.some("ERROR unknown command"))
      }).pipe(Effect.provide(MemoryNetwork.layer)))

    it.scoped("disconnect a client that stays silent for 30 seconds", () =>
      Effect.gen(function*() {
        yield* startKvServer("memory://kv")
        const client = yield* kvClient("memory://kv")
        assert.deepStrictEqual(yield* client.request("SET a 1"), Option.some("OK"))
        const next = yield* Effect.fork(client.readLine)
        yield* TestClock.adjust("29999 millis")
        assert.isTrue(yield* isPending(next))
        yield* TestClock.adjust("1 millis")
        assert.deepStrictEqual(yield* Fiber.join(next), Option.some("TIMEOUT"))
        assert.deepStrictEqual(yield* client.readLine, Option.none(), "then the server closes")
      }).pipe(Effect.provide(MemoryNetwork.layer)))

    it.scoped("each request restarts the idle timer", () =>
      Effect.gen(function*() {
        yield* startKvServer("memory://kv")
        const client = yield* kvClient("memory://kv")
        for (let i = 0; i < 3; i++) {
          yield* TestClock.adjust("20 seconds")
          assert.deepStrictEqual(yield* client.request(`GET k${i}`), Option.some("NOT_FOUND"))
        }
      }).pipe(Effect.provide(MemoryNetwork.layer)))
  })

  describe("connecting", () => {
    it.scoped("to an address nobody listens on fails with ECONNREFUSED", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(Connector.connect("tcp://127.0.0.1:80"))
        assert.strictEqual(error.reason, "Failed")
        assert.strictEqual(error.code, "ECONNREFUSED")
        assert.strictEqual(error.message, "Connection to tcp://127.0.0.1:80 failed: Connection refused (ECONNREFUSED)")
        const other = yield* Effect.flip(Connector.connect("memory://db"))
        assert.strictEqual(other.message, "Connection to memory://db failed: Connection refused (ECONNREFUSED)")
      }).pipe(Effect.provide(MemoryNetwork.layer)))

    it.scoped("reaches the listener by address, with addresses as TCP reports them", () =>
      Effect.gen(function*() {
        const server = yield* MemoryNetwork.listen("127.0.0.1:8080")
        assert.strictEqual(server.address, "tcp://127.0.0.1:8080")
        const client = yield* Connector.connect("tcp://127.0.0.1:8080?hostname=example.com")
        const accepted = Option.getOrThrow(yield* accept(server))
        assert.deepStrictEqual(client.remoteAddress, Option.some("tcp://127.0.0.1:8080"))
        assert.deepStrictEqual(accepted.localAddress, Option.some("tcp://127.0.0.1:8080"))
        assert.deepStrictEqual(accepted.remoteAddress, client.localAddress)
        assert.match(Option.getOrThrow(client.localAddress), /^tcp:\/\/127\.0\.0\.1:(49[1-9]|5|6)\d*$/)
        yield* client.write("hello")
        yield* client.end
        assert.strictEqual(yield* readText(accepted), "hello")
      }).pipe(Effect.provide(MemoryNetwork.layer)))

    it.scoped("uses any other string verbatim, and names such clients memory://client-N", () =>
      Effect.gen(function*() {
        const server = yield* MemoryNetwork.listen("memory://db")
        assert.strictEqual(server.address, "memory://db")
        const client = yield* Connector.connect("memory://db")
        assert.deepStrictEqual(client.localAddress, Option.some("memory://client-1"))
        assert.isTrue(Option.isSome(yield* accept(server)))
      }).pipe(Effect.provide(MemoryNetwork.layer)))

    it.scoped("lets the client write before the server accepts", () =>
      Effect.gen(function*() {
        const server = yield* MemoryNetwork.listen("memory://early")
        const client = yield* Connector.connect("memory://early")
        yield* client.write("first")
        yield* client.end
        const accepted = Option.getOrThrow(yield* accept(server))
        assert.strictEqual(yield* readText(accepted), "first")
      }).pipe(Effect.provide(MemoryNetwork.layer)))

    it.scoped("closing the client's scope ends the server side's read", () =>
      Effect.gen(function*() {
        const server = yield* MemoryNetwork.listen("memory://scoped")
        yield* Effect.scoped(Effect.flatMap(Connector.connect("memory://scoped"), (client) => client.write("bye")))
        const accepted = Option.getOrThrow(yield* accept(server))
        assert.strictEqual(yield* readText(accepted), "bye")
      }).pipe(Effect.provide(MemoryNetwork.layer)))

    it.scoped("each layer build is a separate network", () =>
      Effect.gen(function*() {
        yield* MemoryNetwork.listen("memory://here").pipe(Effect.provide(MemoryNetwork.layer))
        const error = yield* Effect.flip(Connector.connect("memory://here").pipe(Effect.provide(MemoryNetwork.layer)))
        assert.strictEqual(error.code, "ECONNREFUSED")
      }))
  })

  describe("listening", () => {
    it.scoped("on a taken address fails with EADDRINUSE, and succeeds again once it is freed", () =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        yield* Scope.extend(MemoryNetwork.listen("tcp://127.0.0.1:80"), scope)
        const error = yield* Effect.flip(MemoryNetwork.listen("127.0.0.1:80"))
        assert.strictEqual(error.code, "EADDRINUSE")
        assert.strictEqual(error.message, `Failed to listen on "127.0.0.1:80": Address already in use (EADDRINUSE)`)
        yield* Scope.close(scope, Exit.void)
        const again = yield* MemoryNetwork.listen("127.0.0.1:80")
        assert.strictEqual(again.address, "tcp://127.0.0.1:80")
      }).pipe(Effect.provide(MemoryNetwork.layer)))

    it.scoped("on port 0 takes a free ephemeral port", () =>
      Effect.gen(function*() {
        const first = yield* MemoryNetwork.listen("tcp://[::1]:0")
        const second = yield* MemoryNetwork.listen("tcp://[::1]:0")
        assert.match(first.address, /^tcp:\/\/\[::1\]:\d+$/)
        assert.notStrictEqual(first.address, second.address)
        const port = Number(first.address.split(":").pop())
        assert.isTrue(port >= 49152 && port <= 65535)
        yield* Connector.connect(second.address)
        const accepted = Option.getOrThrow(yield* accept(second))
        assert.strictEqual(Option.getOrThrow(accepted.localAddress), second.address)
      }).pipe(Effect.provide(MemoryNetwork.layer)))
  })

  describe("bad options", () => {
    it.scoped("a backlog that is not a positive integer fails listen with EINVAL", () =>
      Effect.gen(function*() {
        for (const backlog of [NaN, 0, -1, 1.5]) {
          const error = yield* Effect.flip(MemoryNetwork.listen("127.0.0.1:80", { backlog }))
          assert.strictEqual(error.code, "EINVAL")
          assert.strictEqual(
            error.message,
            `Failed to listen on "127.0.0.1:80": Invalid option backlog: ${backlog}, expected an integer from 1 to 2147483647 (EINVAL)`
          )
        }
      }).pipe(Effect.provide(MemoryNetwork.layer)))

    it.effect("a high-water mark that is not an integer of 0 or more is a defect when the layer is built", () =>
      Effect.gen(function*() {
        const exit = yield* Effect.exit(Effect.scoped(Layer.build(MemoryNetwork.layerWith({ highWaterMark: NaN }))))
        const defect = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.dieOption(exit.cause)) : undefined
        assert.isTrue(Cause.isIllegalArgumentException(defect), String(exit))
        assert.strictEqual(
          (defect as Error).message,
          "MemoryNetwork.layerWith: Invalid option highWaterMark: NaN, expected an integer from 0 to 2147483647"
        )
      }))
  })

  describe("backpressure", () => {
    it.scoped("hands out one connection per pull, in connect order", () =>
      Effect.gen(function*() {
        const server = yield* MemoryNetwork.listen("memory://order")
        const clients = yield* Effect.forEach([1, 2, 3], () => Connector.connect("memory://order"))
        const pull = yield* Stream.toPull(server.connections)
        for (const client of clients) {
          const chunk = yield* pull
          assert.strictEqual(Chunk.size(chunk), 1)
          assert.deepStrictEqual(Chunk.unsafeHead(chunk).remoteAddress, client.localAddress)
        }
      }).pipe(Effect.provide(MemoryNetwork.layer)))

    it.scoped("a connect waits while the backlog is full, until the server pulls", () =>
      Effect.gen(function*() {
        const server = yield* MemoryNetwork.listen("memory://busy", { backlog: 2 })
        yield* Connector.connect("memory://busy")
        yield* Connector.connect("memory://busy")
        const third = yield* Effect.fork(Connector.connect("memory://busy"))
        assert.isTrue(yield* isPending(third))
        yield* accept(server)
        const client = yield* Fiber.join(third)
        assert.isTrue(Option.isSome(client.remoteAddress))
      }).pipe(Effect.provide(MemoryNetwork.layer)))

    it.scoped("with a TimeoutConnector, a connect to a full backlog times out and leaves nothing behind", () =>
      Effect.gen(function*() {
        const server = yield* MemoryNetwork.listen("memory://busy", { backlog: 1 })
        const waiting = yield* Connector.connect("memory://busy")
        // The decorator wraps the network's Connector, provided from the enclosing context.
        const late = yield* Effect.fork(Connector.connect("memory://busy").pipe(Effect.provide(TimeoutConnector.layer("5 seconds"))))
        yield* TestClock.adjust("5 seconds")
        const error = yield* Effect.flip(Fiber.join(late))
        assert.strictEqual(error.message, "Connection to memory://busy timed out after 5.0 seconds (ETIMEDOUT)")
        const pull = yield* Stream.toPull(server.connections)
        assert.deepStrictEqual(Chunk.unsafeHead(yield* pull).remoteAddress, waiting.localAddress)
        const next = yield* Effect.fork(pull)
        assert.isTrue(yield* isPending(next), "the timed-out client never reaches the server")
        yield* Fiber.interrupt(next)
      }).pipe(Effect.provide(MemoryNetwork.layer)))
  })

  describe("closing the server's scope", () => {
    it.scoped("closes its connections, accepted or queued, and refuses waiting and later clients", () =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        const server = yield* Scope.extend(MemoryNetwork.listen("memory://closing", { backlog: 1 }), scope)
        const acceptedClient = yield* Connector.connect("memory://closing")
        const accepted = Option.getOrThrow(yield* accept(server))
        const queuedClient = yield* Connector.connect("memory://closing")
        const waitingClient = yield* Effect.fork(Connector.connect("memory://closing"))
        assert.isTrue(yield* isPending(waitingClient))
        yield* acceptedClient.write("unread")

        yield* Scope.close(scope, Exit.void)

        assert.isTrue(Option.isNone(accepted.remoteAddress), "the accepted connection is closed")
        for (const client of [acceptedClient, queuedClient]) {
          assert.strictEqual(yield* readText(client), "")
          assert.strictEqual((yield* Effect.flip(client.write("x"))).code, "EPIPE")
        }
        assert.strictEqual((yield* Effect.flip(Fiber.join(waitingClient))).code, "ECONNREFUSED")
        assert.strictEqual((yield* Effect.flip(Connector.connect("memory://closing"))).code, "ECONNREFUSED")
      }).pipe(Effect.provide(MemoryNetwork.layer)))

    it.scoped("ends the connection and error streams, even mid-pull, and frees the address", () =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        const server = yield* Scope.extend(MemoryNetwork.listen("memory://closing"), scope)
        const pulling = yield* Effect.fork(accept(server).pipe(Effect.scoped))
        const errors = yield* Effect.fork(Stream.runCollect(server.errors))
        assert.isTrue(yield* isPending(pulling))
        assert.isTrue(yield* isPending(errors))

        yield* Scope.close(scope, Exit.void)

        assert.isTrue(Option.isNone(yield* Fiber.join(pulling)))
        assert.strictEqual(Chunk.size(yield* Fiber.join(errors)), 0)
        assert.isTrue(Option.isNone(yield* accept(server).pipe(Effect.scoped)), "a later pull ends at once")
        assert.strictEqual((yield* MemoryNetwork.listen("memory://closing")).address, "memory://closing")
      }).pipe(Effect.provide(MemoryNetwork.layer)))

    it.scoped("stops Server.serve, closing the connections its handlers hold", () =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        const server = yield* Scope.extend(MemoryNetwork.listen("memory://serve"), scope)
        const serving = yield* Effect.fork(Server.serve(server, (connection) => Stream.runDrain(connection.read)))
        const client = yield* Connector.connect("memory://serve")
        yield* client.write("hold on")
        assert.isTrue(yield* isPending(serving))

        yield* Scope.close(scope, Exit.void)

        yield* Fiber.join(serving)
        assert.strictEqual(yield* readText(client), "")
        assert.strictEqual((yield* Effect.flip(client.write("x"))).code, "EPIPE")
      }).pipe(Effect.provide(MemoryNetwork.layer)))
  })
})
