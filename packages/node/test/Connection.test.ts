/**
 * `Connection` over real loopback sockets: half-close, reset, addresses, scope ownership, typed
 * write errors, and binary safety. Intent of ReactPHP's ConnectionTest and the data parts of
 * TcpServerTest (data with and without FIN, connection ends when the client closes).
 */
import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as TcpServer from "@effect-socket/node/TcpServer"
import type { Connection } from "@effect-socket/socket/Connection"
import * as Server from "@effect-socket/socket/Server"
import { ConnectionError } from "@effect-socket/socket/SocketError"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Runtime from "effect/Runtime"
import * as Stream from "effect/Stream"
import * as fc from "fast-check"
import { accept, collectBytes, collectText, connectedPair, socketOf } from "./fixtures/connections.js"
import { closed, eventually, rawConnect, readAll, realSleep } from "./fixtures/net.js"

/** Reads until at least `n` bytes arrived (the peer sends exactly `n` and then waits). */
const readBytes = (connection: Connection, n: number) =>
  Stream.runFoldWhile(connection.read, Buffer.alloc(0), (acc) => acc.length < n, (acc, chunk) => Buffer.concat([acc, chunk]))

const writeError = (effect: Effect.Effect<void, ConnectionError>) =>
  Effect.flatMap(Effect.exit(effect), (exit) =>
    Exit.isFailure(exit) && exit.cause._tag === "Fail"
      ? Effect.succeed(exit.cause.error)
      : Effect.dieMessage(`expected a typed failure, got ${String(exit)}`))

describe("Connection", () => {
  it.scoped("a second concurrent reader takes over; the first fails with EBUSY instead of hanging", () =>
    Effect.gen(function*() {
      const { accepted, client } = yield* connectedPair()
      const first = yield* Effect.fork(collectText(client.read))
      yield* realSleep(20)
      const second = yield* Effect.fork(collectText(client.read))
      const error = yield* Effect.flip(Fiber.join(first))
      assert.strictEqual(error.code, "EBUSY")
      assert.include(error.message, "one reader at a time")
      yield* accepted.write("data")
      yield* accepted.end
      assert.strictEqual(yield* Fiber.join(second), "data")
    }))

  it.scoped("read ends when the peer half-closes, and the connection stays writable", () =>
    Effect.gen(function*() {
      const { accepted, client } = yield* connectedPair()
      yield* client.write("hello")
      yield* client.end
      assert.strictEqual(yield* collectText(accepted.read), "hello")
      // The peer only closed its sending side: our answer still reaches it.
      yield* accepted.write("world")
      yield* accepted.end
      assert.strictEqual(yield* collectText(client.read), "world")
    }))

  it.scoped("end sends FIN and keeps reading: half-close in both directions", () =>
    Effect.gen(function*() {
      const { accepted, client } = yield* connectedPair()
      // Server half-closes first; the client reads the end of stream, then keeps talking.
      yield* accepted.write("bye from server")
      yield* accepted.end
      assert.strictEqual(yield* collectText(client.read), "bye from server")
      yield* client.write("still here")
      yield* client.write(", client")
      yield* client.end
      assert.strictEqual(yield* collectText(accepted.read), "still here, client")
      // Both directions are shut: Node closes the socket on its own.
      yield* closed(socketOf(accepted))
      yield* closed(socketOf(client))
    }))

  it.scoped("data sent before the peer's FIN is delivered before the end of stream", () =>
    Effect.gen(function*() {
      const server = yield* TcpServer.make(0)
      const raw = yield* rawConnect(server.address)
      raw.end("foo")
      const connection = yield* accept(server)
      assert.strictEqual(yield* collectText(connection.read), "foo")
    }))

  it.scoped("a peer that sends nothing and does not close leaves the read pending", () =>
    Effect.gen(function*() {
      const server = yield* TcpServer.make(0)
      const raw = yield* rawConnect(server.address)
      const connection = yield* accept(server)
      const reading = yield* Effect.fork(collectText(connection.read))
      // Let the event loop run a while: nothing arrives, so nothing may end the stream.
      yield* realSleep(50)
      assert.isTrue(Option.isNone(yield* reading.poll))
      raw.end("late")
      assert.strictEqual(yield* Fiber.join(reading), "late")
    }))

  it.scoped("a reset by the peer fails read with ECONNRESET, naming the peer", () =>
    Effect.gen(function*() {
      const server = yield* TcpServer.make(0)
      const raw = yield* rawConnect(server.address)
      const connection = yield* accept(server)
      const peer = `tcp://127.0.0.1:${raw.localPort}`
      raw.resetAndDestroy()
      const error = yield* Effect.flip(Stream.runDrain(connection.read))
      assert.instanceOf(error, ConnectionError)
      assert.strictEqual(error.reason, "Read")
      assert.strictEqual(error.code, "ECONNRESET")
      assert.deepStrictEqual(error.address, Option.some(peer))
      assert.strictEqual(error.message, `Unable to read from connection to ${peer}: Connection reset by peer (ECONNRESET)`)
      // The socket is gone: writing fails with a typed error, not a throw.
      const failed = yield* writeError(connection.write("too late"))
      assert.strictEqual(failed.reason, "Closed")
      assert.strictEqual(failed.code, "EPIPE")
    }))

  describe("pull", () => {
    it.scoped("gives every chunk waiting at once, then None at the peer's FIN, and None again after", () =>
      Effect.gen(function*() {
        const { accepted, client } = yield* connectedPair()
        yield* client.write("one")
        yield* client.write("two")
        // Nothing pulls yet, so the socket is paused and both writes wait in the kernel: the first
        // pull's read takes both.
        yield* realSleep(50)
        const first = yield* accepted.pull
        assert.strictEqual(Buffer.concat(Array.from(Option.getOrThrow(first))).toString(), "onetwo")
        yield* client.end
        assert.isTrue(Option.isNone(yield* accepted.pull))
        assert.isTrue(Option.isNone(yield* accepted.pull))
        // The peer only half-closed: the connection is still writable.
        yield* accepted.write("back")
        yield* accepted.end
        assert.strictEqual(yield* collectText(client.read), "back")
      }))

    it.scoped("fails with ECONNRESET on a reset, as read does", () =>
      Effect.gen(function*() {
        const { accepted, client } = yield* connectedPair()
        socketOf(accepted).resetAndDestroy()
        const error = yield* Effect.flip(Effect.repeat(client.pull, { while: Option.isSome }))
        assert.instanceOf(error, ConnectionError)
        assert.strictEqual(error.code, "ECONNRESET")
      }))

    it.scoped("shares the one-reader rule with read: a pull taking over fails the waiting read with EBUSY", () =>
      Effect.gen(function*() {
        const { accepted, client } = yield* connectedPair()
        const reading = yield* Effect.fork(collectText(client.read))
        yield* realSleep(20)
        const pulling = yield* Effect.fork(client.pull)
        assert.strictEqual((yield* Effect.flip(Fiber.join(reading))).code, "EBUSY")
        yield* accepted.write("x")
        assert.strictEqual(Buffer.concat(Array.from(Option.getOrThrow(yield* Fiber.join(pulling)))).toString(), "x")
      }))
  })

  it.scoped("a reset by the server fails the client's read with ECONNRESET", () =>
    Effect.gen(function*() {
      // No data before the reset: libuv reports a reset that follows a partial read as EOF.
      const { accepted, client, server } = yield* connectedPair()
      socketOf(accepted).resetAndDestroy()
      const error = yield* Effect.flip(collectBytes(client.read))
      assert.strictEqual(error.code, "ECONNRESET")
      assert.deepStrictEqual(error.address, Option.some(server.address))
    }))

  it.scoped("writing to a peer that has reset fails with a typed Write error, never a throw", () =>
    Effect.gen(function*() {
      const server = yield* TcpServer.make(0)
      const raw = yield* rawConnect(server.address)
      const connection = yield* accept(server)
      const peer = `tcp://127.0.0.1:${raw.localPort}`
      raw.resetAndDestroy()
      yield* closed(raw)
      // The first writes may still be taken by the kernel; the reset surfaces soon after.
      const chunk = new Uint8Array(64 * 1024)
      const error = yield* Effect.flip(Effect.forever(connection.write(chunk)))
      assert.instanceOf(error, ConnectionError)
      assert.oneOf(error.reason, ["Write", "Closed"])
      assert.oneOf(error.code, ["EPIPE", "ECONNRESET"])
      assert.deepStrictEqual(error.address, Option.some(peer))
    }))

  it.scoped("addresses over IPv4: tcp://127.0.0.1:port on both ends", () =>
    Effect.gen(function*() {
      const { accepted, client, server } = yield* connectedPair()
      assert.deepStrictEqual(client.remoteAddress, Option.some(server.address))
      assert.deepStrictEqual(accepted.localAddress, Option.some(server.address))
      const local = Option.getOrThrow(client.localAddress)
      assert.match(local, /^tcp:\/\/127\.0\.0\.1:[0-9]+$/)
      assert.notStrictEqual(local, server.address)
      assert.deepStrictEqual(accepted.remoteAddress, Option.some(local))
    }))

  it.scoped("addresses over IPv6: tcp://[::1]:port on both ends", () =>
    Effect.gen(function*() {
      const { accepted, client, server } = yield* connectedPair("[::1]:0")
      assert.match(server.address, /^tcp:\/\/\[::1\]:[0-9]+$/)
      assert.deepStrictEqual(client.remoteAddress, Option.some(server.address))
      assert.deepStrictEqual(accepted.localAddress, Option.some(server.address))
      const local = Option.getOrThrow(client.localAddress)
      assert.match(local, /^tcp:\/\/\[::1\]:[0-9]+$/)
      assert.deepStrictEqual(accepted.remoteAddress, Option.some(local))
    }))

  it.scoped("addresses are None once the connection is closed", () =>
    Effect.gen(function*() {
      const { accepted, client } = yield* connectedPair()
      yield* client.close
      assert.deepStrictEqual(client.remoteAddress, Option.none())
      assert.deepStrictEqual(client.localAddress, Option.none())
      yield* accepted.close
      assert.deepStrictEqual(accepted.remoteAddress, Option.none())
      assert.deepStrictEqual(accepted.localAddress, Option.none())
    }))

  it.scoped("the remote address is still known after the peer closed", () =>
    Effect.gen(function*() {
      const server = yield* TcpServer.make(0)
      const raw = yield* rawConnect(server.address)
      const peer = `tcp://127.0.0.1:${raw.localPort}`
      raw.end()
      const connection = yield* accept(server)
      assert.strictEqual(yield* collectText(connection.read), "")
      assert.deepStrictEqual(connection.remoteAddress, Option.some(peer))
    }))

  it.scoped("closing the scope closes the socket and the peer sees the end", () =>
    Effect.gen(function*() {
      const server = yield* TcpServer.make(0)
      const client = yield* Effect.scoped(Effect.gen(function*() {
        const connection = yield* TcpConnector.connect(server.address)
        yield* connection.write("last words")
        return connection
      }))
      assert.isTrue(socketOf(client).destroyed)
      yield* closed(socketOf(client))
      const accepted = yield* accept(server)
      assert.strictEqual(yield* collectText(accepted.read), "last words")
    }))

  it.scoped("writes after end fail with Closed (EPIPE); end is idempotent", () =>
    Effect.gen(function*() {
      const { accepted, client } = yield* connectedPair()
      yield* client.end
      yield* client.end
      const error = yield* writeError(client.write("after end"))
      assert.instanceOf(error, ConnectionError)
      assert.strictEqual(error.reason, "Closed")
      assert.strictEqual(error.code, "EPIPE")
      assert.strictEqual(error.message, `Already closed: connection to ${Option.getOrThrow(client.remoteAddress)}: Connection is closed for writing (EPIPE)`)
      const viaSink = yield* writeError(Stream.run(Stream.make(new Uint8Array([1])), client.sink))
      assert.strictEqual(viaSink.reason, "Closed")
      assert.strictEqual(yield* collectText(accepted.read), "")
    }))

  it.scoped("writes after close fail with Closed; close and end after close succeed", () =>
    Effect.gen(function*() {
      const { client } = yield* connectedPair()
      yield* client.close
      yield* client.close
      yield* client.end
      const error = yield* writeError(client.write(new Uint8Array([1, 2, 3])))
      assert.strictEqual(error.reason, "Closed")
      assert.strictEqual(error.code, "EPIPE")
    }))

  it.scoped("close while a write waits for drain and a read waits for data: both finish", () =>
    Effect.gen(function*() {
      const { client } = yield* connectedPair()
      // Nobody reads the server's end: the client's writes soon wait for drain.
      const chunk = new Uint8Array(1024 * 1024)
      const writing = yield* Effect.fork(Effect.forever(client.write(chunk)))
      const reading = yield* Effect.fork(collectText(client.read))
      yield* eventually(() => socketOf(client).writableLength > 0, "a write waits for drain")
      yield* realSleep(20)
      assert.isTrue(Option.isNone(yield* writing.poll))
      yield* client.close
      const failure = yield* Effect.flip(Fiber.join(writing))
      assert.strictEqual(failure.reason, "Closed")
      assert.strictEqual(failure.code, "EPIPE")
      assert.strictEqual(yield* Fiber.join(reading), "")
    }))

  it.scoped("bytes that arrive between two runs of read are kept", () =>
    Effect.gen(function*() {
      const { accepted, client } = yield* connectedPair()
      yield* client.write("first")
      assert.strictEqual((yield* readBytes(accepted, 5)).toString(), "first")
      // Nobody reads while these arrive; a later run of `read` gets them.
      yield* client.write("second")
      yield* client.write("third")
      yield* client.end
      assert.strictEqual(yield* collectText(accepted.read), "secondthird")
    }))

  it.scoped("sink writes every chunk, then half-closes", () =>
    Effect.gen(function*() {
      const server = yield* TcpServer.make(0)
      const connection = yield* TcpConnector.connect(server.address)
      const raw = yield* accept(server)
      const parts = ["a", "bc", "def", "ghij"].map((text) => new TextEncoder().encode(text))
      yield* Stream.run(Stream.fromIterable(parts), connection.sink)
      assert.strictEqual(yield* collectText(raw.read), "abcdefghij")
    }))

  it.scoped("a large write arrives in several chunks, all bytes intact", () =>
    Effect.gen(function*() {
      const server = yield* TcpServer.make(0)
      const raw = yield* rawConnect(server.address)
      const connection = yield* accept(server)
      const payload = Buffer.alloc(4 * 1024 * 1024, "x")
      raw.end(payload)
      let chunks = 0
      const received = yield* Stream.runFold(connection.read, 0, (total, chunk) => {
        chunks++
        return total + chunk.length
      })
      assert.strictEqual(received, payload.length)
      assert.isAbove(chunks, 1)
    }))

  it.scoped("the server's end reaches a raw client as FIN after the data", () =>
    Effect.gen(function*() {
      const server = yield* TcpServer.make(0)
      const raw = yield* rawConnect(server.address)
      const connection = yield* accept(server)
      yield* connection.write("hello raw")
      yield* connection.end
      assert.strictEqual((yield* readAll(raw)).toString(), "hello raw")
    }))

  it.scoped("random binary payloads round-trip through an echo server unchanged", () =>
    Effect.gen(function*() {
      const server = yield* TcpServer.make(0)
      yield* Effect.forkScoped(Server.serve(server, (connection) => Stream.run(connection.read, connection.sink)))
      const roundTrip = (chunks: ReadonlyArray<Uint8Array>) =>
        Effect.scoped(Effect.gen(function*() {
          const connection = yield* TcpConnector.connect(server.address)
          const [, echoed] = yield* Effect.all([
            Stream.run(Stream.fromIterable(chunks), connection.sink),
            collectBytes(connection.read)
          ], { concurrency: 2 })
          return echoed.equals(Buffer.concat(chunks))
        }))
      const runtime = yield* Effect.runtime<never>()
      const every256 = Uint8Array.from({ length: 256 }, (_, i) => i)
      assert.isTrue(yield* roundTrip([every256, every256.slice().reverse()]))
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(
            fc.array(fc.uint8Array({ maxLength: 96 * 1024 }), { maxLength: 6 }),
            (chunks) => Runtime.runPromise(runtime)(roundTrip(chunks))
          ),
          { numRuns: 30 }
        )
      )
    }))
})
