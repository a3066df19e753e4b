/**
 * `Server.serve` against an in-memory server whose connection stream is fed by the test and
 * counts its pulls, so that "stops pulling while every slot is busy" is observed exactly. Every
 * test runs twice: serving the stream, and serving the same queue through the internal accept
 * pull that node servers offer (`internal/acceptPull.ts`).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import * as Connection from "../src/Connection.js"
import { AcceptPull } from "../src/internal/acceptPull.js"
import * as Server from "../src/Server.js"
import { ServerError } from "../src/SocketError.js"

/** What happened, in order: `close 1`, `release 2`, … */
type Log = Array<string>

/** A connection that only logs being closed: serve never reads or writes on its own. */
const memoryConnection = (id: number, log: Log): Connection.Connection => ({
  [Connection.TypeId]: Connection.TypeId,
  remoteAddress: Option.some(`memory://client/${id}`),
  localAddress: Option.some("memory://server"),
  read: Stream.empty,
  pull: Effect.succeedNone,
  write: () => Effect.void,
  sink: Sink.drain,
  end: Effect.void,
  closed: Effect.never,
  close: Effect.sync(() => log.push(`close ${id}`))
})

const idOf = (connection: Connection.Connection) => Number(Option.getOrThrow(connection.remoteAddress).split("/").pop())

type Item = Chunk.Chunk<Connection.Connection> | "end" | ServerError

/**
 * A server whose `connections` hands out what `connect` is given, one chunk per pull; with
 * `acceptPull`, it also offers the same queue as its accept pull (which `serve` then uses).
 */
const makeMemoryServer = (acceptPull: boolean) => Effect.gen(function*() {
  const log: Log = []
  const queue = yield* Queue.unbounded<Item>()
  let pulls = 0
  const take = Effect.suspend(() => {
    pulls++
    return Queue.take(queue)
  })
  const streamPull = Effect.flatMap(take, (item) =>
    item === "end"
      ? Effect.fail(Option.none())
      : item instanceof ServerError
      ? Effect.fail(Option.some(item))
      : Effect.succeed(item))
  const server: Server.Server = {
    [Server.TypeId]: Server.TypeId,
    address: "memory://server",
    connections: Stream.repeatEffectChunkOption(streamPull),
    errors: Stream.empty,
    ...(acceptPull
      ? {
        [AcceptPull]: Effect.flatMap(take, (item) =>
          item === "end" ? Effect.succeed(undefined) : item instanceof ServerError ? Effect.fail(item) : Effect.succeed(item))
      }
      : {})
  }
  let next = 1
  /** Offers `n` new connections as one chunk; returns their ids. */
  const connect = (n = 1) =>
    Effect.suspend(() => {
      const ids = Array.from({ length: n }, () => next++)
      return Effect.as(Queue.offer(queue, Chunk.fromIterable(ids.map((id) => memoryConnection(id, log)))), ids)
    })
  return {
    server,
    log,
    connect,
    end: Queue.offer(queue, "end"),
    fail: (error: ServerError) => Queue.offer(queue, error),
    pulls: () => pulls
  }
})

/** Lets every runnable fiber run until it suspends. */
const settle = Effect.repeatN(Effect.yieldNow(), 50)

/** A handler that records its start and then waits until `release(id)`. */
const gatedHandler = (log: Log) => {
  const gates = new Map<number, Deferred.Deferred<void>>()
  const gate = (id: number) => {
    let deferred = gates.get(id)
    if (deferred === undefined) {
      deferred = Deferred.unsafeMake<void>(FiberId.none)
      gates.set(id, deferred)
    }
    return deferred
  }
  let running = 0
  let peak = 0
  const handler = (connection: Connection.Connection) =>
    Effect.gen(function*() {
      const id = idOf(connection)
      running++
      peak = Math.max(peak, running)
      log.push(`start ${id}`)
      yield* Effect.ensuring(Deferred.await(gate(id)), Effect.sync(() => running--))
      log.push(`done ${id}`)
    })
  return {
    handler,
    release: (id: number) => Deferred.succeed(gate(id), undefined),
    running: () => running,
    peak: () => peak
  }
}

const started = (log: Log) => log.filter((line) => line.startsWith("start")).length

describe.each([["its stream", false], ["its accept pull", true]] as const)("Server.serve over %s", (_, acceptPull) => {
  const memoryServer = makeMemoryServer(acceptPull)
  it.effect("runs the handler in its own scope and closes the connection when it ends", () =>
    Effect.gen(function*() {
      const { connect, end, log, server } = yield* memoryServer
      const fiber = yield* Effect.fork(Server.serve(server, (connection) =>
        Effect.gen(function*() {
          const id = idOf(connection)
          yield* Effect.addFinalizer(() => Effect.sync(() => log.push(`scope ${id}`)))
          log.push(`handle ${id}`)
        })))
      yield* connect()
      yield* settle
      assert.deepStrictEqual(log, ["handle 1", "scope 1", "close 1"])
      yield* end
      assert.isTrue(Exit.isSuccess(yield* Fiber.await(fiber)))
    }))

  it.effect("the handler's scope is a full scope: finalizers in reverse order with the handler's exit, child scopes and scoped fibers end with it, late finalizers run at once", () =>
    Effect.gen(function*() {
      const { connect, log, server } = yield* memoryServer
      let kept: Scope.Scope | undefined
      yield* Effect.fork(Server.serve(server, (connection) =>
        Effect.gen(function*() {
          const id = idOf(connection)
          kept = yield* Scope.Scope
          yield* Effect.addFinalizer((exit) => Effect.sync(() => log.push(`first ${id} ${exit._tag}`)))
          const child = yield* Scope.fork(kept, ExecutionStrategy.sequential)
          yield* Scope.addFinalizer(child, Effect.sync(() => log.push(`child ${id}`)))
          yield* Effect.forkScoped(Effect.onInterrupt(Effect.never, () => Effect.sync(() => log.push(`scoped fiber ${id}`))))
          yield* Effect.yieldNow()
          yield* Effect.addFinalizer(() => Effect.sync(() => log.push(`last ${id}`)))
          return yield* Effect.fail("boom")
        })))
      yield* connect()
      yield* settle
      assert.deepStrictEqual(log, ["last 1", "scoped fiber 1", "child 1", "first 1 Failure", "close 1"])
      yield* Scope.addFinalizer(kept!, Effect.sync(() => log.push("late")))
      assert.strictEqual(log.at(-1), "late")
    }))

  it.effect("a handler that never uses its scope still sees it closed: a finalizer added afterwards runs at once", () =>
    Effect.gen(function*() {
      const { connect, log, server } = yield* memoryServer
      let kept: Scope.Scope | undefined
      yield* Effect.fork(Server.serve(server, () => Effect.map(Scope.Scope, (scope) => (kept = scope))))
      yield* connect()
      yield* settle
      assert.deepStrictEqual(log, ["close 1"])
      yield* Scope.addFinalizerExit(kept!, (exit) => Effect.sync(() => log.push(`late ${exit._tag}`)))
      assert.deepStrictEqual(log, ["close 1", "late Success"])
    }))

  it.effect("a failing or dying handler ends only its own connection", () =>
    Effect.gen(function*() {
      const { connect, log, server } = yield* memoryServer
      yield* Effect.fork(Server.serve(server, (connection) => {
        const id = idOf(connection)
        log.push(`handle ${id}`)
        return id === 1 ? Effect.fail("boom") : id === 2 ? Effect.die("bang") : Effect.never
      }))
      yield* connect()
      yield* connect()
      yield* connect()
      yield* settle
      assert.sameMembers(log, ["handle 1", "close 1", "handle 2", "close 2", "handle 3"])
    }))

  it.effect("when the stream ends, serve waits for the handlers that have a connection", () =>
    Effect.gen(function*() {
      const { connect, end, log, server } = yield* memoryServer
      const gated = gatedHandler(log)
      const fiber = yield* Effect.fork(Server.serve(server, gated.handler))
      yield* connect()
      yield* end
      yield* settle
      assert.isTrue(Option.isNone(yield* fiber.poll))
      yield* gated.release(1)
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(log, ["start 1", "done 1", "close 1"])
    }))

  it.effect("an empty pull gives its slot back", () =>
    Effect.gen(function*() {
      const { connect, log, server, pulls } = yield* memoryServer
      const gated = gatedHandler(log)
      yield* Effect.fork(Server.serve(server, gated.handler, { concurrency: 1 }))
      yield* connect(0)
      yield* connect()
      yield* settle
      assert.strictEqual(pulls(), 2)
      assert.deepStrictEqual(log, ["start 1"])
    }))

  it.effect("the dual form takes the server last", () =>
    Effect.gen(function*() {
      const { connect, end, log, server } = yield* memoryServer
      const fiber = yield* Effect.fork(Server.serve((connection) => Effect.sync(() => log.push(`handle ${idOf(connection)}`)))(server))
      yield* connect()
      yield* end
      yield* Fiber.join(fiber)
      assert.deepStrictEqual(log, ["handle 1", "close 1"])
    }))

  it.effect("with concurrency k, at most k handlers run, and no pull happens while all slots are busy", () =>
    Effect.gen(function*() {
      const { connect, log, pulls, server } = yield* memoryServer
      const gated = gatedHandler(log)
      yield* Effect.fork(Server.serve(server, gated.handler, { concurrency: 2 }))
      for (let i = 0; i < 5; i++) yield* connect()
      yield* settle
      assert.strictEqual(started(log), 2)
      // Two pulls gave the two handlers; the third waits for a slot before pulling.
      assert.strictEqual(pulls(), 2)

      yield* gated.release(1)
      yield* settle
      assert.strictEqual(started(log), 3)
      assert.strictEqual(pulls(), 3)

      for (const id of [2, 3, 4, 5]) yield* gated.release(id)
      yield* settle
      assert.strictEqual(started(log), 5)
      assert.strictEqual(gated.peak(), 2)
      // Served in the order they came; each closed after its handler.
      assert.deepStrictEqual(log.filter((line) => line.startsWith("start")), ["start 1", "start 2", "start 3", "start 4", "start 5"])
      assert.deepStrictEqual(log.filter((line) => line.startsWith("close")).length, 5)
    }))

  it.effect("a concurrency that is not a positive integer is a defect, at once, instead of never serving", () =>
    Effect.gen(function*() {
      const { server } = yield* memoryServer
      for (const concurrency of [0, -1, NaN, 1.5]) {
        const exit = yield* Effect.exit(Server.serve(server, () => Effect.void, { concurrency }))
        const defect = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.dieOption(exit.cause)) : undefined
        assert.isTrue(Cause.isIllegalArgumentException(defect), String(exit))
        assert.strictEqual(
          (defect as Error).message,
          `Server.serve: Invalid option concurrency: ${concurrency}, expected "unbounded" or an integer from 1 to 2147483647`
        )
      }
    }))

  it.effect("a pull that returns several connections does not exceed the concurrency", () =>
    Effect.gen(function*() {
      const { connect, log, server } = yield* memoryServer
      const gated = gatedHandler(log)
      yield* Effect.fork(Server.serve(server, gated.handler, { concurrency: 2 }))
      yield* connect(4)
      yield* settle
      assert.strictEqual(gated.running(), 2)
      yield* gated.release(1)
      yield* settle
      assert.strictEqual(gated.running(), 2)
      for (const id of [2, 3, 4]) yield* gated.release(id)
      yield* settle
      assert.strictEqual(started(log), 4)
      assert.strictEqual(gated.peak(), 2)
    }))

  it.effect("interrupting serve interrupts every handler and closes every connection it took", () =>
    Effect.gen(function*() {
      const { connect, log, pulls, server } = yield* memoryServer
      const gated = gatedHandler(log)
      const fiber = yield* Effect.fork(Server.serve(server, gated.handler, { concurrency: 1 }))
      // One pull hands out three at once: one gets the slot, two wait for theirs inside serve.
      yield* connect(3)
      // These stay in the stream: serve does not pull while its only slot is busy.
      yield* connect()
      yield* settle
      assert.strictEqual(started(log), 1)
      assert.strictEqual(pulls(), 1)
      yield* Fiber.interrupt(fiber)
      assert.deepStrictEqual(log.filter((line) => line.startsWith("close")).sort(), ["close 1", "close 2", "close 3"])
    }))

  it.effect("fails with the stream's error and interrupts the handlers", () =>
    Effect.gen(function*() {
      const { connect, fail, log, server } = yield* memoryServer
      const fiber = yield* Effect.fork(Server.serve(server, () => Effect.never))
      yield* connect()
      yield* settle
      const error = new ServerError({ reason: "Accept", address: server.address, remoteAddress: Option.none(), code: "EMFILE" })
      yield* fail(error)
      const exit = yield* Fiber.await(fiber)
      assert.deepStrictEqual(exit, Exit.fail(error))
      assert.deepStrictEqual(log, ["close 1"])
    }))
})
