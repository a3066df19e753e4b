/**
 * `TcpConnector` on loopback: what it connects, what it refuses before any I/O, how connection
 * failures read, what interrupting a pending connect releases, and its options. Intent of
 * ReactPHP's TcpConnectorTest.
 */
import * as TcpConnector from "@effect-socket/node/TcpConnector"
import { tcpAddresses } from "@effect-socket/node/internal/addresses"
import { dial } from "@effect-socket/node/internal/dial"
import * as TcpServer from "@effect-socket/node/TcpServer"
import { Connector } from "@effect-socket/socket/Connector"
import { ConnectError } from "@effect-socket/socket/SocketError"
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import type * as net from "node:net"
import { accept, collectText, socketOf } from "./fixtures/connections.js"
import { closed, eventually, freePort, liveSockets, realSleep, refusedAddress, socketOption } from "./fixtures/net.js"
import * as BlackHole from "./fixtures/BlackHole.js"

/** The typed failure of `connect(uri)`, which must come before any I/O (so `runSync` can run it). */
const rejected = (uri: string, options?: TcpConnector.Options): ConnectError => {
  const exit = Effect.runSyncExit(Effect.scoped(TcpConnector.connect(uri, options)))
  if (Exit.isFailure(exit) && exit.cause._tag === "Fail") return exit.cause.error
  throw new Error(`expected ${uri} to be rejected before any I/O, got ${String(exit)}`)
}

const pendingConnects = () => process.getActiveResourcesInfo().filter((kind) => kind === "ConnectWrap").length

describe("TcpConnector", () => {
  it.scoped("connects to an IPv4 server: remote is the target, local an ephemeral port", () =>
    Effect.gen(function*() {
      const server = yield* TcpServer.make(0)
      for (const uri of [server.address, server.address.slice("tcp://".length)]) {
        const connection = yield* TcpConnector.connect(uri)
        assert.deepStrictEqual(connection.remoteAddress, Option.some(server.address))
        const local = Option.getOrThrow(connection.localAddress)
        assert.match(local, /^tcp:\/\/127\.0\.0\.1:[0-9]+$/)
        assert.notStrictEqual(local, server.address)
        const accepted = yield* accept(server)
        assert.deepStrictEqual(accepted.remoteAddress, Option.some(local))
      }
    }))

  it.scoped("connects to an IPv6 server: tcp://[::1]:port", () =>
    Effect.gen(function*() {
      const server = yield* TcpServer.make("[::1]:0")
      const connection = yield* TcpConnector.connect(server.address)
      assert.deepStrictEqual(connection.remoteAddress, Option.some(server.address))
      assert.match(Option.getOrThrow(connection.localAddress), /^tcp:\/\/\[::1\]:[0-9]+$/)
    }))

  it.scoped("is the Connector of TcpConnector.layer", () =>
    Effect.gen(function*() {
      const server = yield* TcpServer.make(0)
      const connector = yield* Connector
      const connection = yield* connector.connect(server.address)
      yield* connection.write("via the layer")
      yield* connection.end
      assert.strictEqual(yield* collectText((yield* accept(server)).read), "via the layer")
    }).pipe(Effect.provide(TcpConnector.layer)))

  it.scoped("sees the end when the server closes the connection at once", () =>
    Effect.gen(function*() {
      const server = yield* TcpServer.make(0)
      const connection = yield* TcpConnector.connect(server.address)
      yield* (yield* accept(server)).close
      assert.strictEqual(yield* collectText(connection.read), "")
    }))

  describe("refused connections", () => {
    it.scoped("ECONNREFUSED is a typed ConnectError with ReactPHP's sentence", () =>
      Effect.gen(function*() {
        const address = yield* refusedAddress()
        for (const uri of [address, address.slice("tcp://".length)]) {
          const error = yield* Effect.flip(TcpConnector.connect(uri))
          assert.instanceOf(error, ConnectError)
          assert.strictEqual(error.reason, "Failed")
          assert.strictEqual(error.code, "ECONNREFUSED")
          assert.strictEqual(error.stage, "TCP/IP handshake")
          assert.strictEqual(error.message, `Connection to ${address} failed: Connection refused (ECONNREFUSED)`)
        }
      }))

    it.scoped("over IPv6 too", () =>
      Effect.gen(function*() {
        const address = yield* refusedAddress("::1")
        const error = yield* Effect.flip(TcpConnector.connect(address))
        assert.strictEqual(error.message, `Connection to ${address} failed: Connection refused (ECONNREFUSED)`)
      }))
  })

  describe("invalid URIs fail with EINVAL before any I/O", () => {
    it("host names are not resolved", () => {
      const error = rejected("www.google.com:80")
      assert.strictEqual(error.reason, "InvalidUri")
      assert.strictEqual(error.code, "EINVAL")
      assert.strictEqual(error.message, 'Given URI "tcp://www.google.com:80" does not contain a valid host IP (EINVAL)')
      assert.strictEqual(rejected("tcp://localhost:80").code, "EINVAL")
    })

    it("ports must be 1-65535", () => {
      for (const uri of ["255.255.255.255:12345678", "127.0.0.1:0", "127.0.0.1:65536", "[::1]:0", "127.0.0.1"]) {
        const error = rejected(uri)
        assert.strictEqual(error.code, "EINVAL", uri)
        assert.include(error.message, `"tcp://${uri}"`)
      }
    })

    it("other schemes and malformed input", () => {
      for (const uri of ["tls://127.0.0.1:443", "unix:///tmp/socket", "udp://127.0.0.1:53", "", "///", "tcp://[::1:80"]) {
        const error = rejected(uri)
        assert.strictEqual(error.reason, "InvalidUri", uri)
        assert.strictEqual(error.code, "EINVAL", uri)
      }
    })
  })

  describe("invalid options fail with EINVAL before any I/O", () => {
    it("localAddress must be an IP literal, localPort 0-65535, the others integers of 0 or more", () => {
      const cases: ReadonlyArray<readonly [TcpConnector.Options, string]> = [
        [{ localAddress: "garbage" }, 'localAddress: "garbage", expected an IPv4 or IPv6 address'],
        [{ localAddress: "localhost" }, 'localAddress: "localhost", expected an IPv4 or IPv6 address'],
        [{ localPort: 99999 }, "localPort: 99999, expected an integer from 0 to 65535"],
        [{ localPort: -1 }, "localPort: -1, expected an integer from 0 to 65535"],
        [{ localPort: NaN }, "localPort: NaN, expected an integer from 0 to 65535"],
        [{ localPort: 1.5 }, "localPort: 1.5, expected an integer from 0 to 65535"],
        [{ keepAlive: -1 }, "keepAlive: -1, expected false or an integer number of milliseconds from 0 to 2147483647"],
        [{ readHighWaterMark: NaN }, "readHighWaterMark: NaN, expected an integer from 0 to 2147483647"]
      ]
      for (const [options, problem] of cases) {
        const error = rejected("127.0.0.1:80", options)
        assert.strictEqual(error.reason, "Failed")
        assert.strictEqual(error.code, "EINVAL")
        assert.strictEqual(error.message, `Connection to tcp://127.0.0.1:80 failed: Invalid option ${problem} (EINVAL)`)
      }
    })

    it("options net.connect throws on become a typed EINVAL, not a defect", () => {
      // A defect would make runSync throw; the failure is flipped into the success channel.
      const error = Effect.runSync(Effect.flip(dial({
        uri: "tcp://127.0.0.1:80",
        connect: { host: "127.0.0.1", port: 80, localAddress: "garbage" },
        stage: "TCP/IP handshake",
        addresses: tcpAddresses
      })))
      assert.strictEqual(error.code, "EINVAL")
      assert.strictEqual(error.message, "Connection to tcp://127.0.0.1:80 failed: Invalid IP address: garbage (EINVAL)")
    })
  })

  describe("interruption", () => {
    /** The one socket opened since `before` was taken, once it exists. */
    const openedSince = (before: Set<net.Socket>) =>
      Effect.gen(function*() {
        let opened: Array<net.Socket> = []
        yield* eventually(() => {
          opened = Array.from(liveSockets()).filter((socket) => !before.has(socket))
          return opened.length > 0
        }, "the connect opens a socket")
        assert.strictEqual(opened.length, 1)
        return opened[0]!
      })

    it.scoped("interrupting a pending connect destroys its socket", () =>
      Effect.gen(function*() {
        const address = `tcp://127.0.0.1:${yield* BlackHole.make("127.0.0.1")}`
        const before = liveSockets()
        const connects = pendingConnects()
        const fiber = yield* Effect.fork(Effect.scoped(TcpConnector.connect(address)))
        const socket = yield* openedSince(before)
        // The listener's queue is full: the handshake cannot complete.
        yield* realSleep(100)
        assert.isTrue(Option.isNone(yield* fiber.poll), "the connect did not stay pending")
        assert.isTrue(socket.connecting)
        assert.strictEqual(pendingConnects(), connects + 1)

        const exit = yield* Fiber.interrupt(fiber)
        assert.isTrue(Exit.isInterrupted(exit))
        assert.isTrue(socket.destroyed)
        yield* closed(socket)
        yield* eventually(() => pendingConnects() === connects, "the connect request is cancelled")
      }))

    it.scoped("a timeout on TestClock interrupts the pending connect and releases it", () =>
      Effect.gen(function*() {
        const address = `tcp://127.0.0.1:${yield* BlackHole.make("127.0.0.1")}`
        const before = liveSockets()
        const fiber = yield* Effect.fork(
          Effect.scoped(TcpConnector.connect(address)).pipe(Effect.timeout(Duration.seconds(10)))
        )
        const socket = yield* openedSince(before)
        yield* TestClock.adjust(Duration.seconds(9))
        assert.isTrue(Option.isNone(yield* fiber.poll))
        yield* TestClock.adjust(Duration.seconds(1))
        const exit = yield* Fiber.await(fiber)
        assert.isTrue(Exit.isFailure(exit) && exit.cause._tag === "Fail" && exit.cause.error._tag === "TimeoutException", String(exit))
        assert.isTrue(socket.destroyed)
        yield* closed(socket)
      }))
  })

  describe("layerWith options", () => {
    it.scoped("TCP_NODELAY is on by default and can be turned off; keep-alive when asked", () =>
      Effect.gen(function*() {
        const server = yield* TcpServer.make(0)
        const plain = yield* TcpConnector.connect(server.address)
        assert.strictEqual(socketOption(socketOf(plain), "kSetNoDelay"), true)
        assert.notStrictEqual(socketOption(socketOf(plain), "kSetKeepAlive"), true)

        const tuned = yield* Effect.flatMap(Connector, (connector) => connector.connect(server.address)).pipe(
          Effect.provide(TcpConnector.layerWith({ noDelay: false, keepAlive: 3_000 }))
        )
        const socket = socketOf(tuned)
        assert.notStrictEqual(socketOption(socket, "kSetNoDelay"), true)
        assert.strictEqual(socketOption(socket, "kSetKeepAlive"), true)
        // Node keeps the delay in seconds.
        assert.strictEqual(socketOption(socket, "kSetKeepAliveInitialDelay"), 3)
      }))

    it.scoped("localAddress and localPort bind the outgoing socket", () =>
      Effect.gen(function*() {
        const server = yield* TcpServer.make(0)
        const localPort = yield* freePort()
        const connection = yield* Effect.flatMap(Connector, (connector) => connector.connect(server.address)).pipe(
          Effect.provide(TcpConnector.layerWith({ localAddress: "127.0.0.1", localPort }))
        )
        assert.deepStrictEqual(connection.localAddress, Option.some(`tcp://127.0.0.1:${localPort}`))
        assert.deepStrictEqual((yield* accept(server)).remoteAddress, Option.some(`tcp://127.0.0.1:${localPort}`))
      }))

    it.scoped("a local address of the other family fails as a typed error", () =>
      Effect.gen(function*() {
        const server = yield* TcpServer.make(0)
        const error = yield* Effect.flip(TcpConnector.connect(server.address, { localAddress: "::1" }))
        assert.strictEqual(error.reason, "Failed")
        assert.strictEqual(error.code, "EINVAL")
        // Refused before a socket is opened (the kernel would say "Invalid argument" after).
        assert.strictEqual(
          error.message,
          `Connection to ${server.address} failed: Invalid option localAddress: "::1", expected an IPv4 address as the target is one (EINVAL)`
        )
      }))
  })
})
