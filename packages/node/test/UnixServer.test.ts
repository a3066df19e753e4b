import * as UnixConnector from "@effect-socket/node/UnixConnector"
import * as UnixServer from "@effect-socket/node/UnixServer"
import * as Server from "@effect-socket/socket/Server"
import type { ListenError } from "@effect-socket/socket/SocketError"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { socat, staleSocket, tempDir } from "./support/processes.js"

const echo = (server: Server.Server) => Effect.forkScoped(Server.serve(server, (c) => Stream.run(c.read, c.sink)))

const text = (chunks: Chunk.Chunk<Uint8Array>) => Buffer.concat(Chunk.toArray(chunks)).toString()

/** Sends `data` over a new connection, half-closes, and returns what came back. */
const roundTrip = (uri: string, data: string) =>
  Effect.gen(function*() {
    const connection = yield* UnixConnector.connect(uri)
    yield* connection.write(data)
    yield* connection.end
    return text(yield* Stream.runCollect(connection.read))
  }).pipe(Effect.scoped)

const listenError = <R>(effect: Effect.Effect<unknown, ListenError, R>) => Effect.flip(effect)

/** A raw client that connects and stays open until the scope closes. */
const rawClient = (file: string) =>
  Effect.acquireRelease(
    Effect.async<net.Socket>((resume) => {
      const socket = net.connect(file, () => resume(Effect.succeed(socket)))
    }),
    (socket) => Effect.sync(() => socket.destroy())
  )

describe("UnixServer", () => {
  it.scoped("accepts connections from socat and echoes, with ReactPHP's addresses", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "echo.sock")
      const server = yield* UnixServer.make(`unix://${file}`)
      assert.strictEqual(server.address, `unix://${file}`)
      const seen: Array<[Option.Option<string>, Option.Option<string>]> = []
      yield* Effect.forkScoped(Server.serve(server, (c) =>
        Effect.zipRight(Effect.sync(() => seen.push([c.localAddress, c.remoteAddress])), Stream.run(c.read, c.sink))))
      const { code, out } = yield* socat(["-", `UNIX-CONNECT:${file}`], "hello over a unix socket\n")
      assert.strictEqual(out, "hello over a unix socket\n")
      assert.strictEqual(code, 0)
      assert.deepStrictEqual(seen, [[Option.some(`unix://${file}`), Option.none()]])
    }))

  it.scoped("takes a bare path and a relative unix:// path, keeping the address as given", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const bare = yield* UnixServer.make(path.join(dir, "bare.sock"))
      assert.strictEqual(bare.address, `unix://${path.join(dir, "bare.sock")}`)
      yield* echo(bare)
      assert.strictEqual(yield* roundTrip(bare.address, "bare"), "bare")

      const cwd = process.cwd()
      yield* Effect.acquireRelease(Effect.sync(() => process.chdir(dir)), () => Effect.sync(() => process.chdir(cwd)))
      const relative = yield* UnixServer.make("unix://relative.sock")
      assert.strictEqual(relative.address, "unix://relative.sock")
      assert.isTrue(fs.statSync(path.join(dir, "relative.sock")).isSocket())
      yield* echo(relative)
      assert.strictEqual(yield* roundTrip("unix://relative.sock", "relative"), "relative")
    }))

  it.scoped("accepts several clients, in the order they connect", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "many.sock")
      const server = yield* UnixServer.make(file)
      const clients = yield* Effect.forEach([1, 2, 3], () => rawClient(file))
      const accepted = yield* Stream.runCollect(Stream.take(server.connections, 3))
      assert.strictEqual(Chunk.size(accepted), 3)
      clients[1]!.end("from the second")
      const second = yield* Stream.runCollect(Chunk.unsafeGet(accepted, 1).read)
      assert.strictEqual(text(second), "from the second")
    }))

  it.scoped("delivers a large transfer completely, in several chunks, and ends when the client closes", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "bulk.sock")
      const server = yield* UnixServer.make(file)
      const client = yield* rawClient(file)
      const bytes = Buffer.alloc(4 * 1024 * 1024, "x")
      client.end(bytes)
      const connection = yield* Stream.runHead(server.connections).pipe(Effect.map(Option.getOrThrow))
      const chunks = yield* Stream.runCollect(Stream.chunks(connection.read))
      const received = Buffer.concat(Chunk.toArray(chunks).flatMap((c) => Chunk.toArray(c)))
      assert.isTrue(received.equals(bytes))
      assert.isAbove(Chunk.size(chunks), 1)
    }))

  it.scoped("fails with EADDRINUSE naming the path when a live server listens on it, and leaves that server alone", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "busy.sock")
      const first = yield* UnixServer.make(`unix://${file}`)
      yield* echo(first)
      for (const replaceStale of [false, true]) {
        const error = yield* listenError(UnixServer.make(`unix://${file}`, { replaceStale }))
        assert.strictEqual(error._tag, "ListenError")
        assert.strictEqual(error.code, "EADDRINUSE")
        assert.strictEqual(error.message, `Failed to listen on "unix://${file}": Address already in use (EADDRINUSE)`)
      }
      // The failed bind did not remove the live server's file: it still answers.
      assert.strictEqual(yield* roundTrip(first.address, "still here"), "still here")
    }))

  it.scoped("refuses a stale socket file, saying so, and replaces it with replaceStale", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "stale.sock")
      yield* staleSocket(file)
      assert.isTrue(fs.statSync(file).isSocket())
      const error = yield* listenError(UnixServer.make(file))
      assert.strictEqual(error.code, "EADDRINUSE")
      assert.include(error.message, `"unix://${file}"`)
      assert.include(error.message, "stale socket file that nobody listens on")
      assert.include(error.message, "replaceStale: true")
      const server = yield* UnixServer.make(file, { replaceStale: true })
      yield* echo(server)
      assert.strictEqual(yield* roundTrip(file, "replaced"), "replaced")
    }))

  it.scoped("never removes a file that is not a socket", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "data.txt")
      fs.writeFileSync(file, "precious")
      const error = yield* listenError(UnixServer.make(file, { replaceStale: true }))
      assert.strictEqual(error.code, "EADDRINUSE")
      assert.include(error.message, "not a socket")
      assert.strictEqual(fs.readFileSync(file, "utf8"), "precious")
    }))

  it.scoped("removes the socket file when the scope closes, so the path can be listened on again", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "again.sock")
      yield* Effect.scoped(Effect.flatMap(UnixServer.make(file), () => Effect.sync(() => assert.isTrue(fs.existsSync(file)))))
      assert.isFalse(fs.existsSync(file))
      const again = yield* UnixServer.make(file)
      yield* echo(again)
      assert.strictEqual(yield* roundTrip(file, "again"), "again")
    }))

  it.scoped("closing the scope closes accepted connections and ends the connection stream", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "close.sock")
      const serverScope = yield* Scope.make()
      const server = yield* Scope.extend(UnixServer.make(file), serverScope)
      const client = yield* rawClient(file)
      const accepted = yield* Stream.runHead(server.connections).pipe(Effect.map(Option.getOrThrow))
      yield* Scope.close(serverScope, Exit.void)
      yield* Effect.async<void>((resume) => {
        client.once("close", () => resume(Effect.void))
        client.resume()
      })
      assert.isTrue(Option.isNone(accepted.remoteAddress) && Option.isNone(accepted.localAddress))
      assert.strictEqual(Chunk.size(yield* Stream.runCollect(server.connections)), 0)
      assert.isFalse(fs.existsSync(file))
    }))

  it.scoped("listens on a Linux abstract socket, without any file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const name = `effect-socket-test-${process.pid}-${path.basename(dir)}`
      const server = yield* UnixServer.make(`unix://@${name}`)
      assert.strictEqual(server.address, `unix://@${name}`)
      yield* echo(server)
      assert.strictEqual(yield* roundTrip(`unix://@${name}`, "abstract"), "abstract")
      // Node 20 binds abstract names padded with NULs to the full sun_path: socat must do the same.
      const { out } = yield* socat(["-", `ABSTRACT-CONNECT:${name},unix-tightsocklen=0`], "via socat")
      assert.strictEqual(out, "via socat")
      const error = yield* listenError(UnixServer.make(`unix://@${name}`))
      assert.strictEqual(error.code, "EADDRINUSE")
      const mode = yield* listenError(UnixServer.make(`unix://@${name}-mode`, { writableAll: true }))
      assert.strictEqual(
        mode.message,
        `Given URI "unix://@${name}-mode" is invalid: an abstract socket has no file mode to set (readableAll, writableAll) (EINVAL)`
      )
    }))

  it.scoped("fails with EINVAL before creating anything for a path longer than 107 bytes", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const longest = path.join(dir, "x".repeat(107 - dir.length - 1))
      assert.strictEqual(Buffer.byteLength(longest), 107)
      const tooLong = `${longest}y`
      const error = yield* listenError(UnixServer.make(`unix://${tooLong}`))
      assert.strictEqual(error.code, "EINVAL")
      assert.strictEqual(
        error.message,
        `Given URI "unix://${tooLong}" has a socket path that is too long: 108 bytes, at most 107 (EINVAL)`
      )
      assert.deepStrictEqual(fs.readdirSync(dir), [])
      const abstract = yield* listenError(UnixServer.make(`unix://@${"n".repeat(108)}`))
      assert.strictEqual(abstract.code, "EINVAL")
      // The longest path works, and its file is removed afterwards.
      yield* Effect.scoped(Effect.flatMap(UnixServer.make(longest), echo).pipe(Effect.zipRight(roundTrip(longest, "107"))))
      assert.deepStrictEqual(fs.readdirSync(dir), [])
    }))

  it.effect("fails with EINVAL for another scheme or an empty path", () =>
    Effect.gen(function*() {
      for (const uri of ["tcp://127.0.0.1:0", "unix://", "", "unix://@"]) {
        const error = yield* Effect.scoped(listenError(UnixServer.make(uri)))
        assert.strictEqual(error.code, "EINVAL", uri)
        assert.strictEqual(error.reason, "InvalidUri", uri)
        assert.match(error.message, /^Given URI ".*" (is invalid|has an unsupported scheme)/, uri)
      }
    }))

  it.scoped("fails with ENOENT when the directory does not exist", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const error = yield* listenError(UnixServer.make(path.join(dir, "missing", "x.sock")))
      assert.strictEqual(error.code, "ENOENT")
      assert.strictEqual(error.message, `Failed to listen on "unix://${path.join(dir, "missing", "x.sock")}": No such file or directory: ${path.join(dir, "missing")} (ENOENT)`)
    }))

  it.scoped("sets the socket file's mode with readableAll and writableAll", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "open.sock")
      yield* UnixServer.make(file, { readableAll: true, writableAll: true })
      assert.strictEqual(fs.statSync(file).mode & 0o006, 0o006)
    }))

  it.scoped("holds at most `backlog` connections while nobody pulls, and reports the rest", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "backlog.sock")
      const server = yield* UnixServer.make(file, { backlog: 2 })
      const errors = yield* Stream.runCollect(Stream.take(server.errors, 2)).pipe(Effect.forkScoped)
      yield* Effect.yieldNow()
      yield* Effect.forEach([1, 2, 3, 4], () => rawClient(file))
      const reported = yield* errors.await.pipe(Effect.flatten)
      assert.deepStrictEqual(Chunk.toArray(Chunk.map(reported, (e) => [e.reason, e.address])), [
        ["BacklogFull", `unix://${file}`],
        ["BacklogFull", `unix://${file}`]
      ])
      const held = yield* Effect.scoped(Effect.flatMap(Stream.toPull(server.connections), (pull) => pull))
      assert.strictEqual(Chunk.size(held), 2)
    }))
})
