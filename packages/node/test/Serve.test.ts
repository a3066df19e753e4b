/**
 * `Server.serve` over a real `TcpServer`: per-connection scopes, failure isolation, bounded
 * concurrency that leaves extra clients in the (emulated) backlog, and interruption.
 */
import * as TcpServer from "@effect-socket/node/TcpServer"
import type { Connection } from "@effect-socket/socket/Connection"
import * as Server from "@effect-socket/socket/Server"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import type * as net from "node:net"
import { collectText, forkSubscribed } from "./fixtures/connections.js"
import { eventually, rawConnect, readAll, realSleep, untilAccepted } from "./fixtures/net.js"

/** The port a connection's peer uses: the raw client's `localPort`. */
const peerPort = (connection: Connection) => Number(Option.getOrThrow(connection.remoteAddress).split(":").pop())

/**
 * A handler that echoes the first bytes it reads once `release(port)` is called for its
 * client, recording how many handlers run at once.
 */
const gatedEcho = () => {
  const gates = new Map<number, Deferred.Deferred<void>>()
  const gate = (port: number) => {
    let deferred = gates.get(port)
    if (deferred === undefined) {
      deferred = Deferred.unsafeMake<void>(FiberId.none)
      gates.set(port, deferred)
    }
    return deferred
  }
  const started: Array<number> = []
  let running = 0
  let peak = 0
  const handler = (connection: Connection) =>
    Effect.gen(function*() {
      const port = peerPort(connection)
      started.push(port)
      running++
      peak = Math.max(peak, running)
      yield* Effect.addFinalizer(() => Effect.sync(() => running--))
      yield* Deferred.await(gate(port))
      const first = yield* Stream.runHead(connection.read)
      if (Option.isSome(first)) yield* connection.write(first.value)
    })
  return { handler, started, peak: () => peak, release: (socket: net.Socket) => Deferred.succeed(gate(socket.localPort!), undefined) }
}

describe("Server.serve over TcpServer", () => {
  it.scoped("each connection is closed when its handler ends, after the handler's own scope", () =>
    Effect.gen(function*() {
      const server = yield* TcpServer.make(0)
      const log: Array<string> = []
      yield* Effect.forkScoped(Server.serve(server, (connection) =>
        Effect.gen(function*() {
          yield* Effect.addFinalizer(() => Effect.sync(() => log.push(`scope closed, socket open: ${Option.isSome(connection.remoteAddress)}`)))
          // Neither end nor close: serve closes the connection.
          yield* connection.write("hello, then nothing")
        })))
      const client = yield* rawConnect(server.address)
      assert.strictEqual((yield* readAll(client)).toString(), "hello, then nothing")
      assert.deepStrictEqual(log, ["scope closed, socket open: true"])
    }))

  it.scoped("a failing handler ends only its own connection", () =>
    Effect.gen(function*() {
      const server = yield* TcpServer.make(0)
      const serving = yield* Effect.forkScoped(Server.serve(server, (connection) =>
        Effect.gen(function*() {
          const text = yield* collectText(Stream.take(connection.read, 1))
          if (text === "fail") return yield* Effect.fail("the handler gave up")
          if (text === "die") return yield* Effect.die("the handler crashed")
          yield* connection.write(`echo ${text}`)
        })))
      const failing = yield* rawConnect(server.address)
      const dying = yield* rawConnect(server.address)
      const healthy = yield* rawConnect(server.address)
      failing.write("fail")
      dying.write("die")
      assert.strictEqual((yield* readAll(failing)).length, 0)
      assert.strictEqual((yield* readAll(dying)).length, 0)
      healthy.write("ok")
      assert.strictEqual((yield* readAll(healthy)).toString(), "echo ok")
      assert.isTrue(Option.isNone(yield* serving.poll))
      // And it keeps serving new clients.
      const later = yield* rawConnect(server.address)
      later.write("later")
      assert.strictEqual((yield* readAll(later)).toString(), "echo later")
    }))

  it.scoped("with concurrency k, at most k handlers run; extra clients wait in the backlog, then are served", () =>
    Effect.gen(function*() {
      const server = yield* TcpServer.make(0)
      const gated = gatedEcho()
      yield* Effect.forkScoped(Server.serve(server, gated.handler, { concurrency: 2 }))
      const clients: Array<net.Socket> = []
      for (let i = 0; i < 4; i++) {
        const client = yield* rawConnect(server.address)
        client.write(`client ${i}`)
        clients.push(client)
      }
      yield* untilAccepted(server.address, 4)
      yield* realSleep(50)
      assert.deepStrictEqual(gated.started, [clients[0]!.localPort, clients[1]!.localPort])

      yield* gated.release(clients[0]!)
      assert.strictEqual((yield* readAll(clients[0]!)).toString(), "client 0")
      yield* eventually(() => gated.started.length === 3, "a third handler starts")
      assert.strictEqual(gated.started[2], clients[2]!.localPort)

      for (const client of clients.slice(1)) yield* gated.release(client)
      for (const [i, client] of clients.entries()) {
        if (i > 0) assert.strictEqual((yield* readAll(client)).toString(), `client ${i}`)
      }
      assert.strictEqual(gated.peak(), 2)
    }))

  it.scoped("clients held before serve starts are all served, even more of them than k", () =>
    Effect.gen(function*() {
      const server = yield* TcpServer.make(0)
      const clients: Array<net.Socket> = []
      for (let i = 0; i < 5; i++) {
        const client = yield* rawConnect(server.address)
        client.write(`early ${i}`)
        clients.push(client)
      }
      yield* untilAccepted(server.address, 5)
      // The first pull returns all five at once; only two may run at a time.
      let running = 0
      let peak = 0
      yield* Effect.forkScoped(Server.serve(server, (connection) =>
        Effect.gen(function*() {
          running++
          peak = Math.max(peak, running)
          yield* Effect.addFinalizer(() => Effect.sync(() => running--))
          const first = yield* Stream.runHead(connection.read)
          if (Option.isSome(first)) yield* connection.write(first.value)
        }), { concurrency: 2 }))
      for (const [i, client] of clients.entries()) {
        assert.strictEqual((yield* readAll(client)).toString(), `early ${i}`)
      }
      assert.isAtMost(peak, 2)
    }))

  it.scoped("while every slot is busy the server is not pulled: its backlog fills and overflows", () =>
    Effect.gen(function*() {
      const server = yield* TcpServer.make(0, { backlog: 1 })
      const errors = yield* forkSubscribed(server.errors, 1)
      const gated = gatedEcho()
      yield* Effect.forkScoped(Server.serve(server, gated.handler, { concurrency: 1 }))

      const served = yield* rawConnect(server.address)
      yield* eventually(() => gated.started.length === 1, "the first handler starts")
      const held = yield* rawConnect(server.address)
      held.write("held")
      yield* untilAccepted(server.address, 2)
      // The one slot is busy and the backlog of 1 is taken: a third client is turned away.
      const rejected = yield* rawConnect(server.address)
      assert.strictEqual((yield* readAll(rejected)).length, 0)
      const [error] = Chunk.toArray(yield* Fiber.join(errors))
      assert.strictEqual(error?.reason, "BacklogFull")

      served.write("served")
      yield* gated.release(served)
      assert.strictEqual((yield* readAll(served)).toString(), "served")
      yield* gated.release(held)
      assert.strictEqual((yield* readAll(held)).toString(), "held")
    }))

  it.scoped("interrupting serve closes the connections of running handlers", () =>
    Effect.gen(function*() {
      const server = yield* TcpServer.make(0)
      const gated = gatedEcho()
      const serving = yield* Effect.fork(Server.serve(server, gated.handler))
      const clients = [yield* rawConnect(server.address), yield* rawConnect(server.address)]
      yield* eventually(() => gated.started.length === 2, "both handlers start")
      const exit = yield* Fiber.interrupt(serving)
      assert.isTrue(Exit.isInterrupted(exit))
      for (const client of clients) assert.strictEqual((yield* readAll(client)).length, 0)
    }))
})
