import * as Connector from "@effect-socket/socket/Connector"
import type { Connection } from "@effect-socket/socket/Connection"
import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as UnixConnector from "@effect-socket/node/UnixConnector"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as Stream from "effect/Stream"
import { cli, cliWithFds, runCli } from "./cliProcess.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "es-cli-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const close = (server: net.Server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))

const readAll = (connection: Connection) =>
  Effect.map(Stream.runCollect(connection.read), (chunks) => Buffer.concat(Chunk.toArray(chunks)).toString())

describe("effect-socket over Unix sockets and inherited fds", () => {
  it.scoped("connect pipes a file through listen on unix://; SIGTERM removes the socket file and exits 0", () =>
    Effect.gen(function*() {
      const file = path.join(yield* tempDir, "echo.sock")
      const server = yield* cli("listen", `unix://${file}`)
      yield* server.waitForStderr(new RegExp(`Listening on unix://${file}\\n`))
      assert.isTrue(fs.statSync(file).isSocket())
      const payload = crypto.randomBytes(2 * 1024 * 1024)
      const result = yield* runCli(["connect", "--verbose", `unix://${file}`], payload)
      assert.strictEqual(result.code, 0, result.stderr)
      assert.isTrue(result.stdout.equals(payload))
      assert.include(result.stderr, `Connected to unix://${file} (Unix domain socket)`)
      server.child.kill("SIGTERM")
      assert.strictEqual((yield* server.closed).code, 0, server.stderr())
      assert.isFalse(fs.existsSync(file))
      // And nobody listens there any more.
      const error = yield* Effect.flip(UnixConnector.connect(`unix://${file}`))
      assert.strictEqual(error.code, "ENOENT")
    }))

  it.scoped("connect to a missing Unix socket fails with ENOENT", () =>
    Effect.gen(function*() {
      const file = path.join(yield* tempDir, "nobody.sock")
      const result = yield* runCli(["connect", `unix://${file}`])
      assert.strictEqual(result.code, 1)
      assert.strictEqual(result.stderr.trim(), `Connection to unix://${file} failed: No such file or directory (ENOENT)`)
    }))

  it.scoped("listen fd://3 serves an inherited listening socket", () =>
    Effect.gen(function*() {
      // A listening TCP socket made here and handed to the child as its fd 3.
      const listener = yield* Effect.acquireRelease(
        Effect.async<net.Server>((resume) => {
          const server = net.createServer()
          server.listen({ host: "127.0.0.1", port: 0 }, () => resume(Effect.succeed(server)))
        }),
        (server) => (server.listening ? close(server) : Effect.void)
      )
      const fd = (listener as unknown as { readonly _handle: { readonly fd: number } })._handle.fd
      const port = (listener.address() as net.AddressInfo).port
      const server = yield* cliWithFds([fd], "listen", "fd://3")
      yield* server.waitForStderr(new RegExp(`Listening on tcp://127\\.0\\.0\\.1:${port}\\n`))
      // The parent stops accepting on its copy, so every connection goes to the child.
      yield* close(listener)
      const connection = yield* Connector.connect(`127.0.0.1:${port}`)
      yield* connection.write("inherited")
      yield* connection.end
      assert.strictEqual(yield* readAll(connection), "inherited")
    }).pipe(Effect.provide(TcpConnector.layer)))
})
