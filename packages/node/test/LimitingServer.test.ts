/**
 * LimitingServer over real sockets, with TcpServer as the inner server read through its accept
 * pull (as `Server.serve` reads it) and through its stream only.
 */
import * as TcpServer from "@effect-socket/node/TcpServer"
import { AcceptPull, acceptPullOf } from "@effect-socket/socket/internal/acceptPull"
import * as Connection from "@effect-socket/socket/Connection"
import * as LimitingServer from "@effect-socket/socket/LimitingServer"
import * as Server from "@effect-socket/socket/Server"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as net from "node:net"

/** A raw client that connects, resolves once connected, and collects what it receives until close. */
const rawClient = (address: string) =>
  Effect.acquireRelease(
    Effect.async<{ socket: net.Socket; received: () => string; closed: Promise<void> }>((resume) => {
      const url = new URL(address)
      const socket = net.connect({ host: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port) })
      let text = ""
      socket.on("data", (d) => (text += d.toString()))
      socket.on("error", () => {})
      const closed = new Promise<void>((r) => socket.once("close", () => r()))
      socket.once("connect", () => resume(Effect.succeed({ socket, received: () => text, closed })))
    }),
    ({ closed, socket }) => Effect.promise(() => (socket.destroy(), closed))
  )

/** The same server without its accept pull: LimitingServer then reads its stream. */
const streamOnly = (server: Server.Server): Server.Server => ({
  [Server.TypeId]: Server.TypeId,
  address: server.address,
  connections: server.connections,
  errors: server.errors
})

const inners = [["TcpServer's accept pull", (server: Server.Server) => server], ["TcpServer's stream", streamOnly]] as const

describe.each(inners)("LimitingServer over %s", (_, inner) => {
  const listen = (options: LimitingServer.Options) =>
    Effect.flatMap(TcpServer.make(0), (server) => LimitingServer.make(inner(server), options))

  it.scoped("rejects connections over the limit and reports them on errors", () =>
    Effect.gen(function*() {
      const server = yield* listen({ limit: 2 })
      const errors = yield* Stream.runCollect(Stream.take(server.errors, 1)).pipe(Effect.fork)
      yield* Effect.yieldNow()
      const clients = yield* Effect.forEach([1, 2, 3], () => rawClient(server.address))
      const accepted = yield* Stream.runCollect(Stream.take(server.connections, 2))
      assert.strictEqual(Chunk.size(accepted), 2)
      // The third is pulled, rejected and closed; the stream hands out nothing for it.
      const third = yield* Effect.fork(Stream.runCollect(Stream.take(server.connections, 1)))
      yield* Effect.promise(() => clients[2]!.closed)
      const [error] = Chunk.toArray(yield* Fiber.join(errors))
      assert.strictEqual(error?.reason, "Limit")
      assert.include(error?.message ?? "", "connection limit of 2")
      assert.strictEqual((yield* server.openConnections).length, 2)
      yield* Fiber.interrupt(third)
    }))

  it.scopedLive("with pauseOnLimit, waits for a slot and then serves the waiting client with its bytes intact", () =>
    Effect.gen(function*() {
      const server = yield* listen({ limit: 1, pauseOnLimit: true })
      const [first, second] = yield* Effect.forEach([1, 2], () => rawClient(server.address))
      second!.socket.write("sent while waiting")
      const pull = yield* Stream.toPull(server.connections)
      const [connection] = Chunk.toArray(yield* pull)
      const blocked = yield* Effect.fork(pull)
      yield* Effect.sleep("50 millis")
      assert.isNull(blocked.unsafePoll(), "no second connection while the slot is taken")
      yield* connection!.close
      yield* Effect.promise(() => first!.closed)
      const [next] = Chunk.toArray(yield* Fiber.join(blocked))
      const bytes = yield* Stream.runCollect(Stream.take(next!.read, 1))
      assert.strictEqual(Buffer.from(Chunk.unsafeGet(bytes, 0)).toString(), "sent while waiting")
    }))

  it.scopedLive("with limit null, counts open connections without limiting", () =>
    Effect.gen(function*() {
      const server = yield* listen({ limit: null })
      yield* Effect.forEach([1, 2, 3], () => rawClient(server.address))
      const accepted = yield* Stream.runCollect(Stream.take(server.connections, 3))
      assert.strictEqual((yield* server.openConnections).length, 3)
      yield* Chunk.unsafeGet(accepted, 0).close
      // The slot is freed by the socket's close event: give it its turn.
      yield* server.openConnections.pipe(
        Effect.repeat({ until: (open) => open.length < 3, schedule: Schedule.spaced("1 millis") }),
        Effect.timeout("2 seconds")
      )
      assert.strictEqual((yield* server.openConnections).length, 2)
    }))

  it.live("a flood of 500 clients against a limit of 10 never has more than 10 open and loses none", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* listen({ limit: 10, pauseOnLimit: true })
      let active = 0
      let maxActive = 0
      let maxOpen = 0
      yield* Effect.forkScoped(Server.serve(server, (connection) =>
        Effect.gen(function*() {
          active++
          maxActive = Math.max(maxActive, active)
          maxOpen = Math.max(maxOpen, (yield* server.openConnections).length)
          const request = yield* Stream.runCollect(Stream.take(connection.read, 1))
          yield* Effect.sleep("1 millis")
          yield* connection.write(Chunk.unsafeGet(request, 0))
          active--
        })))
      const clients = 500
      const answers = yield* Effect.forEach(
        Array.from({ length: clients }, (_, i) => i),
        (i) =>
          Effect.scoped(Effect.gen(function*() {
            const client = yield* rawClient(server.address)
            client.socket.write(`#${i}`)
            yield* Effect.promise(() => client.closed)
            return client.received()
          })),
        { concurrency: "unbounded" }
      )
      assert.deepStrictEqual(answers, answers.map((_, i) => `#${i}`))
      assert.isAtMost(maxActive, 10)
      assert.isAtMost(maxOpen, 10)
      // And it serves normally afterwards.
      const after = yield* rawClient(server.address)
      after.socket.write("after")
      yield* Effect.promise(() => after.closed)
      assert.strictEqual(after.received(), "after")
    })), 60_000)

  it.scopedLive("under Server.serve, a connection reset by its peer frees its slot for the next client", () =>
    Effect.gen(function*() {
      const server = yield* listen({ limit: 1 })
      const errors = yield* Effect.fork(Stream.runCollect(Stream.take(server.errors, 1)))
      yield* Effect.yieldNow()
      let started = 0
      // Handlers that read (a paused socket would not notice a reset) in a child fiber and never
      // end: only the peer frees a slot.
      yield* Effect.forkScoped(Server.serve(server, (connection) =>
        Effect.sync(() => started++).pipe(
          Effect.zipRight(Effect.fork(Effect.ignore(Stream.runDrain(connection.read)))),
          Effect.zipRight(Effect.never)
        )))
      const untilStarted = (n: number) =>
        Effect.sync(() => started).pipe(
          Effect.repeat({ until: (count) => count >= n, schedule: Schedule.spaced("1 millis") }),
          Effect.timeout("2 seconds")
        )
      const first = yield* rawClient(server.address)
      yield* untilStarted(1)
      const rejected = yield* rawClient(server.address)
      yield* Effect.promise(() => rejected.closed)
      assert.strictEqual(Chunk.unsafeGet(yield* Fiber.join(errors), 0).reason, "Limit")
      first.socket.resetAndDestroy()
      yield* server.openConnections.pipe(
        Effect.repeat({ until: (open) => open.length === 0, schedule: Schedule.spaced("1 millis") }),
        Effect.timeout("2 seconds")
      )
      const next = yield* rawClient(server.address)
      yield* untilStarted(2)
      assert.strictEqual((yield* server.openConnections).length, 1)
      assert.isFalse(next.socket.destroyed)
    }))
})

describe("LimitingServer's pull", () => {
  it.scopedLive("is offered to Server.serve, and reads an inner accept pull without running the inner stream", () =>
    Effect.gen(function*() {
      const tcp = yield* TcpServer.make(0)
      const inner = {
        ...streamOnly(tcp),
        connections: Stream.die("the inner stream must not be run when it offers an accept pull"),
        [AcceptPull]: acceptPullOf(tcp)!
      }
      const server = yield* LimitingServer.make(inner, { limit: 2, pauseOnLimit: true })
      assert.isDefined(acceptPullOf(server))
      yield* Effect.forkScoped(Server.serve(server, (connection) => Connection.pipeTo(connection, connection)))
      const client = yield* rawClient(server.address)
      client.socket.end("echo")
      yield* Effect.promise(() => client.closed)
      assert.strictEqual(client.received(), "echo")
    }))

  it.scopedLive("nested, both free the slot when the connection closes (a node connection takes one close callback)", () =>
    Effect.gen(function*() {
      const inner = yield* LimitingServer.make(yield* TcpServer.make(0), { limit: 1 })
      const outer = yield* LimitingServer.make(inner, { limit: 1 })
      yield* rawClient(outer.address)
      const [connection] = Chunk.toArray(yield* Stream.runCollect(Stream.take(outer.connections, 1)))
      assert.deepStrictEqual([(yield* inner.openConnections).length, (yield* outer.openConnections).length], [1, 1])
      yield* connection!.close
      const bothFreed = Effect.all([inner.openConnections, outer.openConnections]).pipe(
        Effect.repeat({ until: ([a, b]) => a.length + b.length === 0, schedule: Schedule.spaced("1 millis") }),
        Effect.timeout("2 seconds")
      )
      yield* bothFreed
    }))
})
