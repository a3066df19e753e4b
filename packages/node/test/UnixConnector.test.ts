import * as UnixConnector from "@effect-socket/node/UnixConnector"
import * as UnixServer from "@effect-socket/node/UnixServer"
import { Connector } from "@effect-socket/socket/Connector"
import * as Server from "@effect-socket/socket/Server"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as path from "node:path"
import { acceptsConnections, spawn, staleSocket, tempDir } from "./support/processes.js"

const text = (chunks: Chunk.Chunk<Uint8Array>) => Buffer.concat(Chunk.toArray(chunks)).toString()

/** socat serving `file`: every connection is piped through its own `cat`. */
const socatEchoServer = (file: string) =>
  Effect.gen(function*() {
    yield* spawn("socat", [`UNIX-LISTEN:${file},fork`, "EXEC:cat"], { stdio: "ignore" })
    yield* acceptsConnections(file)
  })

const pipeWraps = () => process.getActiveResourcesInfo().filter((kind) => kind === "PipeWrap").length

describe("UnixConnector", () => {
  it.scoped("connects to a socat server, with the path as remote address and no local one", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "socat.sock")
      yield* socatEchoServer(file)
      const connector = yield* Connector
      for (const uri of [`unix://${file}`, file]) {
        const reply = yield* Effect.scoped(Effect.gen(function*() {
          const connection = yield* connector.connect(uri)
          assert.deepStrictEqual(connection.remoteAddress, Option.some(`unix://${file}`))
          assert.deepStrictEqual(connection.localAddress, Option.none())
          yield* connection.write(`hello ${uri}`)
          yield* connection.end
          return text(yield* Stream.runCollect(connection.read))
        }))
        assert.strictEqual(reply, `hello ${uri}`)
      }
    }).pipe(Effect.provide(UnixConnector.layer)))

  it.scoped("connects to a relative path from the working directory", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      yield* socatEchoServer(path.join(dir, "rel.sock"))
      const cwd = process.cwd()
      yield* Effect.acquireRelease(Effect.sync(() => process.chdir(dir)), () => Effect.sync(() => process.chdir(cwd)))
      const connection = yield* UnixConnector.connect("unix://rel.sock")
      assert.deepStrictEqual(connection.remoteAddress, Option.some("unix://rel.sock"))
      yield* connection.write("relative")
      yield* connection.end
      assert.strictEqual(text(yield* Stream.runCollect(connection.read)), "relative")
    }))

  it.scoped("connects to an abstract socket", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const uri = `unix://@effect-socket-connector-${process.pid}-${path.basename(dir)}`
      const server = yield* UnixServer.make(uri)
      yield* Effect.forkScoped(Server.serve(server, (c) => Stream.run(c.read, c.sink)))
      const connection = yield* UnixConnector.connect(uri)
      assert.deepStrictEqual(connection.remoteAddress, Option.some(uri))
      yield* connection.write("abstract")
      yield* connection.end
      assert.strictEqual(text(yield* Stream.runCollect(connection.read)), "abstract")
    }))

  it.scoped("fails with ENOENT naming the path when there is no such file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "missing.sock")
      const error = yield* Effect.flip(UnixConnector.connect(file))
      assert.strictEqual(error._tag, "ConnectError")
      assert.strictEqual(error.reason, "Failed")
      assert.strictEqual(error.code, "ENOENT")
      assert.strictEqual(error.message, `Connection to unix://${file} failed: No such file or directory (ENOENT)`)
    }))

  it.scoped("fails with ECONNREFUSED naming the path when nobody listens on the socket", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "stale.sock")
      yield* staleSocket(file)
      const error = yield* Effect.flip(UnixConnector.connect(`unix://${file}`))
      assert.strictEqual(error.code, "ECONNREFUSED")
      assert.strictEqual(error.message, `Connection to unix://${file} failed: Connection refused (ECONNREFUSED)`)
    }))

  it.scoped("fails with EINVAL before opening a socket for another scheme, an empty or a too long path", () =>
    Effect.gen(function*() {
      const before = pipeWraps()
      for (const uri of ["tcp://127.0.0.1:80", "unix://", `/tmp/${"x".repeat(103)}`]) {
        const error = yield* Effect.flip(UnixConnector.connect(uri))
        assert.strictEqual(error.reason, "InvalidUri", uri)
        assert.strictEqual(error.code, "EINVAL", uri)
      }
      assert.strictEqual(pipeWraps(), before)
      const error = yield* Effect.flip(UnixConnector.connect("tcp://127.0.0.1:80"))
      assert.strictEqual(error.message, `Given URI "tcp://127.0.0.1:80" has an unsupported scheme: expected unix:// (EINVAL)`)
    }))

  it.scoped("interrupting a connection attempt destroys its socket", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "interrupt.sock")
      yield* socatEchoServer(file)
      // The server is another process: every PipeWrap handle here is a client socket.
      const before = pipeWraps()
      // Interrupt at different points: before the socket exists, while connecting, after.
      for (let yields = 0; yields < 8; yields++) {
        const fiber = yield* Effect.fork(Effect.scoped(Effect.zipRight(UnixConnector.connect(file), Effect.never)))
        for (let i = 0; i < yields; i++) yield* Effect.yieldNow()
        yield* Fiber.interrupt(fiber)
      }
      const left = yield* Effect.async<number>((resume) => {
        const deadline = Date.now() + 2_000
        const poll = () => (pipeWraps() <= before || Date.now() > deadline ? resume(Effect.succeed(pipeWraps())) : setTimeout(poll, 5))
        poll()
      })
      assert.isAtMost(left, before)
    }))
})
