import * as SocketServer from "@effect-socket/node/SocketServer"
import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as UnixConnector from "@effect-socket/node/UnixConnector"
import * as Server from "@effect-socket/socket/Server"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as net from "node:net"
import * as path from "node:path"
import { tempDir } from "./support/processes.js"

const echo = (server: Server.Server) => Effect.forkScoped(Server.serve(server, (c) => Stream.run(c.read, c.sink)))

const roundTrip = (connect: typeof TcpConnector.connect, uri: string, data: string) =>
  Effect.scoped(Effect.gen(function*() {
    const connection = yield* connect(uri)
    yield* connection.write(data)
    yield* connection.end
    return Buffer.concat(Chunk.toArray(yield* Stream.runCollect(connection.read))).toString()
  }))

/** Raw clients that connect and stay open until the scope closes; resolves once all are connected. */
const rawClients = (count: number, options: net.NetConnectOpts) =>
  Effect.forEach(Array.from({ length: count }), () =>
    Effect.acquireRelease(
      Effect.async<net.Socket>((resume) => {
        const socket = net.connect(options, () => resume(Effect.succeed(socket)))
      }),
      (socket) => Effect.sync(() => socket.destroy())
    ))

describe("SocketServer", () => {
  it.scoped("dispatches host:port and tcp:// to TcpServer; port 0 picks a free port", () =>
    Effect.gen(function*() {
      for (const uri of ["127.0.0.1:0", "tcp://127.0.0.1:0", "[::1]:0"]) {
        const server = yield* SocketServer.make(uri)
        assert.match(server.address, /^tcp:\/\/(127\.0\.0\.1|\[::1\]):[1-9][0-9]*$/, uri)
        yield* echo(server)
        assert.strictEqual(yield* roundTrip(TcpConnector.connect, server.address, uri), uri)
      }
    }))

  it.scoped("dispatches unix:// to UnixServer", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const uri = `unix://${path.join(dir, "facade.sock")}`
      const server = yield* SocketServer.make(uri)
      assert.strictEqual(server.address, uri)
      yield* echo(server)
      assert.strictEqual(yield* roundTrip(UnixConnector.connect, uri, "unix"), "unix")
    }))

  it.scoped("fails with EADDRINUSE for a Unix path a server listens on", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const uri = `unix://${path.join(dir, "taken.sock")}`
      yield* SocketServer.make(uri)
      const error = yield* Effect.flip(SocketServer.make(uri))
      assert.strictEqual(error.code, "EADDRINUSE")
      assert.isTrue(error.message.endsWith("Address already in use (EADDRINUSE)"))
    }))

  it.scoped("fails with EINVAL, before opening anything, for a missing port, a bare port, a host name or an unknown scheme", () =>
    Effect.gen(function*() {
      const before = process.getActiveResourcesInfo().length
      const cases: ReadonlyArray<readonly [string, string]> = [
        // TcpServer completes a URI without scheme with tcp://, as ReactPHP's SocketServer/TcpServer do.
        ["127.0.0.1", `Given URI "tcp://127.0.0.1" is invalid: missing port (EINVAL)`],
        ["8080", `Given URI "8080" is invalid: missing host (EINVAL)`],
        ["tcp://0", `Given URI "tcp://0" is invalid: missing host (EINVAL)`],
        ["localhost:8080", `Given URI "tcp://localhost:8080" does not contain a valid host IP (EINVAL)`],
        ["tcp://127.0.0.1:65536", `Given URI "tcp://127.0.0.1:65536" contains an invalid port (EINVAL)`],
        ["udp://127.0.0.1:0", `Given URI "udp://127.0.0.1:0" has an unsupported scheme: expected tcp://, tls://, unix:// or fd:// (EINVAL)`],
        ["tls://8443", `Given URI "tls://8443" is invalid: missing host (EINVAL)`],
        ["tls://localhost:8443", `Given URI "tls://localhost:8443" does not contain a valid host IP (EINVAL)`],
        ["unix://", `Given URI "unix://" is invalid: missing socket path (EINVAL)`],
        ["fd://x", `Given URI "fd://x" is invalid: expected fd://N, N a file descriptor number (EINVAL)`]
      ]
      for (const [uri, message] of cases) {
        const error = yield* Effect.flip(SocketServer.make(uri))
        assert.strictEqual(error._tag, "ListenError", uri)
        assert.strictEqual(error.reason, "InvalidUri", uri)
        assert.strictEqual(error.code, "EINVAL", uri)
        assert.strictEqual(error.message, message)
      }
      assert.strictEqual(process.getActiveResourcesInfo().length, before)
    }))

  it.scoped("a backlog out of range in any group fails with EINVAL, before opening anything", () =>
    Effect.gen(function*() {
      const before = process.getActiveResourcesInfo().length
      const cases: ReadonlyArray<readonly [string, SocketServer.Options, string]> = [
        ["127.0.0.1:0", { tcp: { backlog: -1 } }, "tcp://127.0.0.1:0"],
        ["unix:///nonexistent/dir/app.sock", { unix: { backlog: NaN } }, "unix:///nonexistent/dir/app.sock"],
        ["fd://3", { fd: { backlog: 1.5 } }, "fd://3"]
      ]
      for (const [uri, options, shown] of cases) {
        const error = yield* Effect.flip(SocketServer.make(uri, options))
        const backlog = options.tcp?.backlog ?? options.unix?.backlog ?? options.fd?.backlog
        assert.strictEqual(error.reason, "Listen", uri)
        assert.strictEqual(
          error.message,
          `Failed to listen on "${shown}": Invalid option backlog: ${backlog}, expected an integer from 1 to 2147483647 (EINVAL)`
        )
      }
      assert.strictEqual(process.getActiveResourcesInfo().length, before)
    }))

  it.scoped("passes the tcp group to TcpServer: its backlog bounds the connections held while nobody pulls", () =>
    Effect.gen(function*() {
      const server = yield* SocketServer.make("127.0.0.1:0", { tcp: { backlog: 1, noDelay: false } })
      const errors = yield* Effect.forkScoped(Stream.runCollect(Stream.take(server.errors, 2)))
      yield* Effect.yieldNow()
      const port = Number(server.address.split(":").pop())
      yield* rawClients(3, { host: "127.0.0.1", port })
      const reported = yield* Effect.flatten(errors.await)
      assert.deepStrictEqual(Chunk.toArray(Chunk.map(reported, (e) => e.reason)), ["BacklogFull", "BacklogFull"])
    }))

  it.scoped("passes the unix group to UnixServer", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "grouped.sock")
      const server = yield* SocketServer.make(`unix://${file}`, { unix: { backlog: 1 }, tcp: { backlog: 100 } })
      const errors = yield* Effect.forkScoped(Stream.runCollect(Stream.take(server.errors, 1)))
      yield* Effect.yieldNow()
      yield* rawClients(2, { path: file })
      const reported = yield* Effect.flatten(errors.await)
      assert.deepStrictEqual(Chunk.toArray(Chunk.map(reported, (e) => e.reason)), ["BacklogFull"])
    }))

  it.scoped("refuses connections once its scope is closed", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const server = yield* Scope.extend(SocketServer.make("127.0.0.1:0"), scope)
      yield* Scope.close(scope, Exit.void)
      const error = yield* Effect.flip(TcpConnector.connect(server.address))
      assert.strictEqual(error.code, "ECONNREFUSED")
    }))

  it("rejects unknown options at compile time, also when passed in a variable", () => {
    const options = { tcp: { backlog: 1, bogus: true } }
    const typo = { tpc: { backlog: 1 } }
    const unixTypo = { unix: { replaceStal: true } }
    const ok = { tcp: { backlog: 1 }, unix: { replaceStale: true } }
    const effects = [
      // @ts-expect-error `bogus` is not a TcpServer option
      SocketServer.make("127.0.0.1:0", options),
      // @ts-expect-error `tpc` is not an option group
      SocketServer.make("127.0.0.1:0", typo),
      // @ts-expect-error `replaceStal` is not a UnixServer option
      SocketServer.make("unix:///tmp/x.sock", unixTypo),
      // @ts-expect-error an unknown key in an inline literal
      SocketServer.make("127.0.0.1:0", { tcp: { backlog: 1 }, udp: {} }),
      // @ts-expect-error `passphase` is not a TlsServer option
      SocketServer.make("tls://127.0.0.1:0", { tls: { pem: "", passphase: "" } }),
      SocketServer.make("tls://127.0.0.1:0", {
        tls: { cert: Buffer.from(""), key: new Uint8Array(), ca: [""], serverNames: { "a.test": { pem: "" } }, alpnProtocols: ["h2"] }
      }),
      SocketServer.make("127.0.0.1:0", ok),
      SocketServer.make("127.0.0.1:0", { fd: { backlog: 2 } }),
      SocketServer.make("127.0.0.1:0")
    ]
    // Nothing is run: this test is about types, checked by `tsc`.
    assert.strictEqual(effects.length, 9)
  })
})
