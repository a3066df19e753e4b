/**
 * `TcpServer` on loopback: addresses, URI validation, listen errors, IPv6, scope ownership and
 * the emulated backlog. Intent of ReactPHP's TcpServerTest and FunctionalTcpServerTest.
 */
import * as TcpServer from "@effect-socket/node/TcpServer"
import type { Server } from "@effect-socket/socket/Server"
import { ListenError, ServerError } from "@effect-socket/socket/SocketError"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type * as net from "node:net"
import { accept, collectText, forkSubscribed, socketOf } from "./fixtures/connections.js"
import { closed, hostPort, netServerAt, rawConnect, readAll, socketOption, untilAccepted } from "./fixtures/net.js"

/** The typed failure of `make(uri)`, which must come before any I/O (so `runSync` can run it). */
const rejected = (uri: string | number, options?: TcpServer.Options): ListenError => {
  const exit = Effect.runSyncExit(Effect.scoped(TcpServer.make(uri, options)))
  if (Exit.isFailure(exit) && exit.cause._tag === "Fail") return exit.cause.error
  throw new Error(`expected ${uri} to be rejected before any I/O, got ${String(exit)}`)
}

const listenFailure = (uri: string | number, options?: TcpServer.Options) =>
  Effect.flip(Effect.scoped(TcpServer.make(uri, options)))

/** Takes `n` connections from a server's stream, pulling again as needed. */
const acceptN = (server: Server, n: number) =>
  Effect.map(Stream.runCollect(Stream.take(server.connections, n)), Chunk.toArray)

describe("TcpServer", () => {
  describe("addresses", () => {
    it.scoped("port 0 listens on a random port, shown in address", () =>
      Effect.gen(function*() {
        for (const uri of [0, "0", "127.0.0.1:0", "tcp://127.0.0.1:0"]) {
          const server = yield* TcpServer.make(uri)
          const match = /^tcp:\/\/127\.0\.0\.1:([0-9]+)$/.exec(server.address)
          assert.isNotNull(match, server.address)
          assert.isAbove(Number(match![1]), 0)
          // The address is the real one: a client gets through.
          const client = yield* rawConnect(server.address)
          const connection = yield* accept(server)
          assert.deepStrictEqual(connection.remoteAddress, Option.some(`tcp://127.0.0.1:${client.localPort}`))
        }
      }))

    it.scoped("a bare port binds 127.0.0.1 only, not every interface", () =>
      Effect.gen(function*() {
        const server = yield* TcpServer.make(0)
        const { port } = hostPort(server.address)
        assert.strictEqual(server.address, `tcp://127.0.0.1:${port}`)
        // Node's listen(port) would bind `::` (dual stack): ::1 would connect.
        const error = yield* Effect.flip(rawConnect(`tcp://[::1]:${port}`)) as Effect.Effect<NodeJS.ErrnoException>
        assert.strictEqual(error.code, "ECONNREFUSED")
      }))

    it.scoped("the same bare port given as a number or a string binds the same address", () =>
      Effect.gen(function*() {
        const first = yield* Effect.scoped(Effect.map(TcpServer.make(0), (server) => hostPort(server.address).port))
        // The port was just released: bind it again, as a string this time.
        const server = yield* TcpServer.make(String(first))
        assert.strictEqual(server.address, `tcp://127.0.0.1:${first}`)
      }))

    it.scoped("IPv6 [::1]:0 listens on ::1, and connections name both ends in brackets", () =>
      Effect.gen(function*() {
        const server = yield* TcpServer.make("[::1]:0")
        assert.match(server.address, /^tcp:\/\/\[::1\]:[0-9]+$/)
        const client = yield* rawConnect(server.address)
        const connection = yield* accept(server)
        assert.deepStrictEqual(connection.localAddress, Option.some(server.address))
        assert.deepStrictEqual(connection.remoteAddress, Option.some(`tcp://[::1]:${client.localPort}`))
      }))
  })

  describe("invalid URIs", () => {
    it("host names are rejected with EINVAL, never resolved", () => {
      for (const uri of ["localhost:8080", "tcp://localhost:0", "example.com:80"]) {
        const error = rejected(uri)
        assert.instanceOf(error, ListenError)
        assert.strictEqual(error.reason, "InvalidUri")
        assert.strictEqual(error.code, "EINVAL")
      }
      assert.strictEqual(rejected("localhost:8080").message, 'Given URI "tcp://localhost:8080" does not contain a valid host IP (EINVAL)')
    })

    it("malformed URIs, missing ports, ports out of range and other schemes fail with EINVAL", () => {
      const cases: ReadonlyArray<readonly [string | number, string]> = [
        ["///", "tcp://///"],
        ["127.0.0.1", "tcp://127.0.0.1"],
        ["udp://127.0.0.1:0", "udp://127.0.0.1:0"],
        ["tls://127.0.0.1:0", "tls://127.0.0.1:0"],
        ["127.0.0.1:65536", "tcp://127.0.0.1:65536"],
        [65536, "tcp://127.0.0.1:65536"],
        [-1, "tcp://127.0.0.1:-1"],
        ["", "tcp://"]
      ]
      for (const [uri, shown] of cases) {
        const error = rejected(uri)
        assert.strictEqual(error.code, "EINVAL", String(uri))
        assert.include(error.message, `"${shown}"`)
        assert.match(error.message, /\(EINVAL\)$/)
      }
    })

    it("a number that is not a port says so", () => {
      for (const port of [1.5, NaN, Infinity]) {
        const error = rejected(port)
        assert.strictEqual(error.reason, "InvalidUri")
        assert.strictEqual(
          error.message,
          `Given URI "tcp://127.0.0.1:${port}" contains an invalid port: ${port} is not a port number (an integer from 0 to 65535) (EINVAL)`
        )
      }
    })

    it("options out of range fail with EINVAL before any socket exists", () => {
      const cases: ReadonlyArray<readonly [TcpServer.Options, string]> = [
        [{ backlog: 0 }, "backlog: 0, expected an integer from 1 to 2147483647"],
        [{ backlog: -1 }, "backlog: -1, expected an integer from 1 to 2147483647"],
        [{ backlog: NaN }, "backlog: NaN, expected an integer from 1 to 2147483647"],
        [{ readHighWaterMark: -1 }, "readHighWaterMark: -1, expected an integer from 0 to 2147483647"],
        [{ keepAlive: 1.5 }, "keepAlive: 1.5, expected false or an integer number of milliseconds from 0 to 2147483647"]
      ]
      for (const [options, detail] of cases) {
        const error = rejected(0, options)
        assert.strictEqual(error.reason, "Listen")
        assert.strictEqual(error.code, "EINVAL")
        assert.strictEqual(error.message, `Failed to listen on "tcp://127.0.0.1:0": Invalid option ${detail} (EINVAL)`)
      }
    })

    it.scoped("a rejected URI opens no socket", () =>
      Effect.gen(function*() {
        const before = process.getActiveResourcesInfo().length
        yield* Effect.flip(TcpServer.make("localhost:0"))
        assert.strictEqual(process.getActiveResourcesInfo().length, before)
      }))
  })

  describe("listen errors", () => {
    it.scoped("EADDRINUSE is a typed ListenError with a readable message", () =>
      Effect.gen(function*() {
        const server = yield* TcpServer.make(0)
        const { port } = hostPort(server.address)
        for (const uri of [server.address, `127.0.0.1:${port}`, port]) {
          const error = yield* listenFailure(uri)
          assert.instanceOf(error, ListenError)
          assert.strictEqual(error.reason, "Listen")
          assert.strictEqual(error.code, "EADDRINUSE")
          assert.strictEqual(error.message, `Failed to listen on "tcp://127.0.0.1:${port}": Address already in use (EADDRINUSE)`)
        }
        // The failed attempts left the first server working.
        yield* rawConnect(server.address)
        yield* accept(server)
      }))

    it.scoped("ipv6Only reaches the socket: an IPv4-mapped address cannot be bound with it", () =>
      Effect.gen(function*() {
        const error = yield* listenFailure("[::ffff:127.0.0.1]:0", { ipv6Only: true })
        assert.strictEqual(error.code, "EINVAL")
        assert.strictEqual(error.reason, "Listen")
        assert.match(error.message, /^Failed to listen on "tcp:\/\/\[::ffff:127\.0\.0\.1\]:0": .* \(EINVAL\)$/)
        // Without it, the same address is a dual-stack socket that IPv4 clients reach.
        const server = yield* TcpServer.make("[::ffff:127.0.0.1]:0")
        const { port } = hostPort(server.address)
        yield* rawConnect(`tcp://127.0.0.1:${port}`)
        const connection = yield* accept(server)
        assert.match(Option.getOrThrow(connection.remoteAddress), /^tcp:\/\/\[::ffff:127\.0\.0\.1\]:[0-9]+$/)
      }))
  })

  describe("connections", () => {
    it.scoped("several clients are handed out as separate connections, with what each sent", () =>
      Effect.gen(function*() {
        const server = yield* TcpServer.make(0)
        const clients = []
        for (let i = 0; i < 3; i++) {
          const client = yield* rawConnect(server.address)
          client.end(`client ${i}`)
          clients.push(client)
        }
        const connections = yield* acceptN(server, 3)
        const byPeer = new Map<string, string>()
        for (const connection of connections) {
          byPeer.set(Option.getOrThrow(connection.remoteAddress), yield* collectText(connection.read))
        }
        assert.deepStrictEqual(
          byPeer,
          new Map(clients.map((client, i) => [`tcp://127.0.0.1:${client.localPort}`, `client ${i}`]))
        )
      }))

    it.scoped("a client that closes at once is still handed out, and its read just ends", () =>
      Effect.gen(function*() {
        const server = yield* TcpServer.make(0)
        const client = yield* rawConnect(server.address)
        client.destroy()
        const connection = yield* accept(server)
        assert.strictEqual(yield* collectText(connection.read), "")
      }))

    it.scoped("accepted sockets get TCP_NODELAY by default, and keep-alive when asked", () =>
      Effect.gen(function*() {
        const plain = yield* TcpServer.make(0)
        yield* rawConnect(plain.address)
        const defaults = socketOf(yield* accept(plain))
        assert.strictEqual(socketOption(defaults, "kSetNoDelay"), true)

        const tuned = yield* TcpServer.make(0, { noDelay: false, keepAlive: 5_000 })
        yield* rawConnect(tuned.address)
        const socket = socketOf(yield* accept(tuned))
        assert.notStrictEqual(socketOption(socket, "kSetNoDelay"), true)
        assert.strictEqual(socketOption(socket, "kSetKeepAlive"), true)
        // Node keeps the delay in seconds.
        assert.strictEqual(socketOption(socket, "kSetKeepAliveInitialDelay"), 5)
      }))
  })

  describe("closing the scope", () => {
    it.scoped("closes handed-out and held connections, ends the stream, and does not hang", () =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
        const server = yield* Scope.extend(TcpServer.make(0), scope)
        const handedOutClient = yield* rawConnect(server.address)
        const handedOut = yield* accept(server)
        const reading = yield* Effect.fork(Stream.runDrain(handedOut.read))
        const heldClient = yield* rawConnect(server.address)
        // Wait until the server accepted the second client too (it holds it unread).
        yield* untilAccepted(server.address, 2)
        const waiting = yield* Effect.fork(acceptN(server, 1))
        yield* Effect.yieldNow()

        yield* Scope.close(scope, Exit.void)
        // Both clients see the server go away; the pending read and pull finish.
        assert.strictEqual((yield* readAll(handedOutClient)).length, 0)
        assert.strictEqual((yield* readAll(heldClient)).length, 0)
        yield* closed(socketOf(handedOut))
        assert.isTrue(Exit.isSuccess(yield* Fiber.await(reading)))
        // The held client was in the queue, so the waiting pull may have got it or the end.
        const pulled = yield* Fiber.join(waiting)
        assert.isAtMost(pulled.length, 1)
        // Nothing listens any more.
        yield* Effect.flip(rawConnect(server.address))
      }))

    it.scoped("closes with a pending pull and no connection at all", () =>
      Effect.gen(function*() {
        const scope = yield* Scope.make()
        yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
        const server = yield* Scope.extend(TcpServer.make(0), scope)
        const waiting = yield* Effect.fork(acceptN(server, 1))
        yield* Effect.yieldNow()
        yield* Scope.close(scope, Exit.void)
        assert.deepStrictEqual(yield* Fiber.join(waiting), [])
      }))
  })

  describe("backlog emulation", () => {
    it.scoped("holds `backlog` clients while nobody pulls, then serves them in order with their bytes", () =>
      Effect.gen(function*() {
        const backlog = 3
        const server = yield* TcpServer.make(0, { backlog })
        const errors = yield* forkSubscribed(server.errors, 2)
        const held: Array<net.Socket> = []
        for (let i = 0; i < backlog; i++) {
          const client = yield* rawConnect(server.address)
          client.write(`held ${i}, sent while nobody pulled`)
          held.push(client)
          // Count on the server's side: the client's `connect` comes before the accept.
          yield* untilAccepted(server.address, i + 1)
        }

        // The queue is full: the next clients are closed at once.
        const excess: Array<string> = []
        for (let i = 0; i < 2; i++) {
          const client = yield* rawConnect(server.address)
          excess.push(`tcp://127.0.0.1:${client.localPort}`)
          assert.strictEqual((yield* readAll(client)).length, 0)
          yield* closed(client)
        }
        yield* untilAccepted(server.address, backlog)
        const reported = Chunk.toArray(yield* Fiber.join(errors))
        assert.deepStrictEqual(reported.map((error) => error.reason), ["BacklogFull", "BacklogFull"])
        for (const [i, error] of reported.entries()) {
          assert.instanceOf(error, ServerError)
          const peer = excess[i]!
          assert.deepStrictEqual(error.remoteAddress, Option.some(peer))
          assert.strictEqual(
            error.message,
            `Connection rejected because the accept backlog is full from ${peer} on ${server.address}: More than 3 connections waiting to be accepted (ECONNREFUSED)`
          )
        }

        // Pulled now: in accept order, nothing lost.
        const connections = yield* acceptN(server, backlog)
        assert.deepStrictEqual(
          connections.map((connection) => Option.getOrThrow(connection.remoteAddress)),
          held.map((client) => `tcp://127.0.0.1:${client.localPort}`)
        )
        for (const [i, connection] of connections.entries()) {
          held[i]!.end()
          assert.strictEqual(yield* collectText(connection.read), `held ${i}, sent while nobody pulled`)
        }

        // The errors were not fatal: the stream goes on.
        const late = yield* rawConnect(server.address)
        const lateConnection = yield* accept(server)
        assert.deepStrictEqual(lateConnection.remoteAddress, Option.some(`tcp://127.0.0.1:${late.localPort}`))
      }))

    it.scoped("accept errors are reported on errors and the stream goes on", () =>
      Effect.gen(function*() {
        const server = yield* TcpServer.make(0)
        const errors = yield* forkSubscribed(server.errors, 1)
        // What Node does when accept() fails (EMFILE cannot be provoked from inside this process).
        const failure = Object.assign(new Error("accept EMFILE"), { code: "EMFILE", errno: -24, syscall: "accept" })
        netServerAt(server.address).emit("error", failure)
        const [error] = Chunk.toArray(yield* Fiber.join(errors))
        assert.instanceOf(error, ServerError)
        assert.strictEqual(error.reason, "Accept")
        assert.strictEqual(error.code, "EMFILE")
        assert.strictEqual(error.message, `Unable to accept new connection on ${server.address}: Too many open files (EMFILE)`)
        const client = yield* rawConnect(server.address)
        const connection = yield* accept(server)
        assert.deepStrictEqual(connection.remoteAddress, Option.some(`tcp://127.0.0.1:${client.localPort}`))
      }))

    it.scoped("a pull that waits gets the next client at once, without counting against the backlog", () =>
      Effect.gen(function*() {
        const server = yield* TcpServer.make(0, { backlog: 1 })
        for (let i = 0; i < 3; i++) {
          const waiting = yield* Effect.fork(accept(server))
          const client = yield* rawConnect(server.address)
          const connection = yield* Fiber.join(waiting)
          assert.deepStrictEqual(connection.remoteAddress, Option.some(`tcp://127.0.0.1:${client.localPort}`))
        }
      }))
  })
})
