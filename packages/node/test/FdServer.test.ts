import * as FdServer from "@effect-socket/node/FdServer"
import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as UnixConnector from "@effect-socket/node/UnixConnector"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import type * as cp from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { closed, nodeFixtureArgs, readJsonLine, spawn, tempDir } from "./support/processes.js"

interface Listening {
  readonly listening: ReadonlyArray<{ readonly fd: number; readonly name: string; readonly address: string }>
  readonly env: ReadonlyArray<string>
}
interface Failed {
  readonly error: { readonly code: string; readonly message: string }
}

/** A listening socket made as systemd or a supervisor would, with plain `node:net`. */
const listeningSocket = (options: net.ListenOptions) =>
  Effect.acquireRelease(
    Effect.async<net.Server>((resume) => {
      const server = net.createServer()
      server.listen(options, () => resume(Effect.succeed(server)))
    }),
    closeServer
  )

const closeServer = (server: net.Server) =>
  Effect.async<void>((resume) => {
    if (!server.listening) return resume(Effect.void)
    server.close(() => resume(Effect.void))
  })

/** The descriptor under a Node server or socket, to hand to a child process (Node has no public accessor). */
const fdOf = (handleOwner: net.Server | net.Socket) => (handleOwner as unknown as { _handle: { fd: number } })._handle.fd

/**
 * Runs `fixtures/inheritedEchoServer.ts` in `mode` with `fds` as its fds 3, 4, …; with
 * `systemd`, through `sh` so that `LISTEN_PID` is the child's own pid, as systemd sets it
 * between fork and exec.
 */
const child = (mode: "fd" | "facade" | "systemd", fds: ReadonlyArray<number>, env: Record<string, string> = {}) =>
  spawn(
    mode === "systemd" ? "sh" : process.execPath,
    mode === "systemd"
      ? ["-c", "LISTEN_PID=$$ exec \"$0\" \"$@\"", process.execPath, ...nodeFixtureArgs("inheritedEchoServer.ts", mode)]
      : nodeFixtureArgs("inheritedEchoServer.ts", mode),
    { stdio: ["ignore", "pipe", "inherit", ...fds], env: { ...process.env, ...env } }
  )

const report = (process: cp.ChildProcess) => Effect.map(readJsonLine(process.stdout!), (line) => line as Listening & Failed)

/** Sends `data` with `connector`'s `connect`, half-closes and returns the reply. */
const roundTrip = (connect: typeof TcpConnector.connect, uri: string, data: string) =>
  Effect.scoped(Effect.gen(function*() {
    const connection = yield* connect(uri)
    yield* connection.write(data)
    yield* connection.end
    return Buffer.concat(Chunk.toArray(yield* Stream.runCollect(connection.read))).toString()
  }))

/** Sets environment variables for the test and restores them afterwards. */
const withEnv = (env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const saved = Object.keys(env).map((key) => [key, process.env[key]] as const)
      Object.assign(process.env, env)
      return saved
    }),
    (saved) =>
      Effect.sync(() => {
        for (const [key, value] of saved) {
          if (value === undefined) delete process.env[key]
          else process.env[key] = value
        }
      })
  )

describe("FdServer", () => {
  it.effect("fails with EINVAL for anything but fd://N, before touching a descriptor", () =>
    Effect.gen(function*() {
      for (const uri of ["fd://-1", "fd://abc", "fd://", "php://fd/3", "3", "fd://3/x", "fd://99999999999", -1, 1.5]) {
        const error = yield* Effect.scoped(Effect.flip(FdServer.make(uri)))
        assert.strictEqual(error.code, "EINVAL", String(uri))
        assert.strictEqual(error.reason, "InvalidUri", String(uri))
      }
      const error = yield* Effect.scoped(Effect.flip(FdServer.make("fd://abc")))
      assert.strictEqual(error.message, `Given URI "fd://abc" is invalid: expected fd://N, N a file descriptor number (EINVAL)`)
    }))

  it.effect("fails with EBADF for a descriptor that is not open", () =>
    Effect.gen(function*() {
      const error = yield* Effect.scoped(Effect.flip(FdServer.make("fd://1048575")))
      assert.strictEqual(error.code, "EBADF")
      assert.strictEqual(error.message, `Failed to listen on "fd://1048575": Bad file descriptor (EBADF)`)
    }))

  it.scoped("fails with ENOTSOCK for a regular file, and leaves the descriptor open", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = path.join(dir, "not-a-socket")
      fs.writeFileSync(file, "")
      const fd = yield* Effect.acquireRelease(Effect.sync(() => fs.openSync(file, "r")), (fd) => Effect.sync(() => fs.closeSync(fd)))
      const error = yield* Effect.flip(FdServer.make(`fd://${fd}`))
      assert.strictEqual(error.code, "ENOTSOCK")
      assert.strictEqual(error.message, `Failed to listen on "fd://${fd}": Socket operation on non-socket (ENOTSOCK)`)
      assert.isTrue(fs.fstatSync(fd).isFile())
    }))

  it.scoped("listens on an inherited TCP socket, with the socket's own address", () =>
    Effect.gen(function*() {
      const socket = yield* listeningSocket({ host: "127.0.0.1", port: 0 })
      const { port } = socket.address() as net.AddressInfo
      const server = yield* child("fd", [fdOf(socket)])
      // Only the child may accept now.
      yield* closeServer(socket)
      const { listening } = yield* report(server)
      assert.deepStrictEqual(listening, [{ fd: 3, name: "fd", address: `tcp://127.0.0.1:${port}` }])
      assert.strictEqual(yield* roundTrip(TcpConnector.connect, listening[0]!.address, "ping"), "fd:ping")
    }))

  it.scoped("listens on an inherited Unix socket (abstract here) through SocketServer's fd://", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const name = `effect-socket-fd-${process.pid}-${path.basename(dir)}`
      const socket = yield* listeningSocket({ path: `\0${name}` })
      const server = yield* child("facade", [fdOf(socket)])
      yield* closeServer(socket)
      const { listening } = yield* report(server)
      assert.deepStrictEqual(listening, [{ fd: 3, name: "facade", address: `unix://@${name}` }])
      assert.strictEqual(yield* roundTrip(UnixConnector.connect, `unix://@${name}`, "hi"), "facade:hi")
    }))

  it.scoped("refuses an inherited socket that is connected rather than listening", () =>
    Effect.gen(function*() {
      const peer = yield* listeningSocket({ host: "127.0.0.1", port: 0 })
      const connected = yield* Effect.acquireRelease(
        Effect.async<net.Socket>((resume) => {
          const socket = net.connect((peer.address() as net.AddressInfo).port, "127.0.0.1", () => resume(Effect.succeed(socket)))
        }),
        (socket) => Effect.sync(() => socket.destroy())
      )
      const server = yield* child("fd", [fdOf(connected)])
      const { error } = yield* report(server)
      assert.strictEqual(error.code, "EINVAL")
      assert.strictEqual(
        error.message,
        `Failed to listen on "fd://3": Invalid argument: the socket cannot listen (a connected or datagram socket?) (EINVAL)`
      )
      assert.strictEqual((yield* closed(server)).code, 1)
    }))

  describe("a TCP socket that is not listening yet (Node cannot make one: python3 passes it)", () => {
    /** Runs the `fd` fixture with fd 3 a fresh IPv4 or IPv6 TCP socket, bound to `bind` first unless it is undefined. */
    const withFreshSocket = (family: "AF_INET" | "AF_INET6", bind: string | undefined) =>
      spawn(
        "python3",
        [
          "-c",
          [
            "import os, socket, sys",
            `s = socket.socket(socket.${family})`,
            ...(bind === undefined ? [] : [`s.bind((${JSON.stringify(bind)}, 0))`]),
            "os.dup2(s.fileno(), 3)",
            // dup2 onto itself (the socket may be fd 3 already) keeps close-on-exec.
            "os.set_inheritable(3, True)",
            "os.execv(sys.argv[1], sys.argv[1:])"
          ].join("\n"),
          process.execPath,
          ...nodeFixtureArgs("inheritedEchoServer.ts", "fd")
        ],
        { stdio: ["ignore", "pipe", "inherit"] }
      )

    for (const family of ["AF_INET", "AF_INET6"] as const) {
      it.scoped(`refuses an unbound one (${family}) with EINVAL instead of listening on every interface`, () =>
        Effect.gen(function*() {
          const server = yield* withFreshSocket(family, undefined)
          const { error } = yield* report(server)
          assert.strictEqual(error.code, "EINVAL")
          assert.strictEqual(
            error.message,
            `Failed to listen on "fd://3": Invalid argument: the socket is not bound to an address (listening would bind it to a random port on every interface) (EINVAL)`
          )
          assert.strictEqual((yield* closed(server)).code, 1)
        }))
    }

    it.scoped("listens on one that is bound, with its address", () =>
      Effect.gen(function*() {
        const server = yield* withFreshSocket("AF_INET", "127.0.0.1")
        const { listening } = yield* report(server)
        assert.match(listening[0]!.address, /^tcp:\/\/127\.0\.0\.1:\d+$/)
        assert.strictEqual(yield* roundTrip(TcpConnector.connect, listening[0]!.address, "bound"), "fd:bound")
      }))
  })

  it.scoped("takes systemd's sockets, by name, when LISTEN_PID is its own pid, and unsets LISTEN_*", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const web = yield* listeningSocket({ host: "127.0.0.1", port: 0 })
      const { port } = web.address() as net.AddressInfo
      const file = path.join(dir, "admin.sock")
      const admin = yield* listeningSocket({ path: file })
      const server = yield* child("systemd", [fdOf(web), fdOf(admin)], { LISTEN_FDS: "2", LISTEN_FDNAMES: "web:admin" })
      yield* closeServer(web)
      // Closing a path-bound server removes its file (libuv unlinks it): keep a second link.
      fs.linkSync(file, `${file}.keep`)
      yield* closeServer(admin)
      fs.renameSync(`${file}.keep`, file)
      const { env, listening } = yield* report(server)
      assert.deepStrictEqual(listening, [
        { fd: 3, name: "web", address: `tcp://127.0.0.1:${port}` },
        { fd: 4, name: "admin", address: `unix://${file}` }
      ])
      assert.deepStrictEqual(env, [])
      assert.strictEqual(yield* roundTrip(TcpConnector.connect, listening[0]!.address, "GET"), "web:GET")
      assert.strictEqual(yield* roundTrip(UnixConnector.connect, file, "status"), "admin:status")
    }))

  it.scoped("takes no socket when LISTEN_PID names another process", () =>
    Effect.gen(function*() {
      const web = yield* listeningSocket({ host: "127.0.0.1", port: 0 })
      const server = yield* spawn(process.execPath, nodeFixtureArgs("inheritedEchoServer.ts", "systemd"), {
        stdio: ["ignore", "pipe", "inherit", fdOf(web)],
        env: { ...process.env, LISTEN_PID: String(process.pid), LISTEN_FDS: "1", LISTEN_FDNAMES: "web" }
      })
      const { env, listening } = yield* report(server)
      assert.deepStrictEqual(listening, [])
      assert.deepStrictEqual(env, [])
      assert.strictEqual((yield* closed(server)).code, 0)
    }))

  it.scoped("fromSystemd: nothing without LISTEN_*, EINVAL for a LISTEN_FDS that is not a number", () =>
    Effect.gen(function*() {
      yield* withEnv({ LISTEN_PID: "", LISTEN_FDS: "1" })
      assert.deepStrictEqual(yield* FdServer.fromSystemd(), [])
      Object.assign(process.env, { LISTEN_PID: String(process.pid), LISTEN_FDS: "two" })
      const error = yield* Effect.flip(FdServer.fromSystemd({ unsetEnvironment: false }))
      assert.strictEqual(error.code, "EINVAL")
      assert.strictEqual(error.message, `Failed to listen on "LISTEN_FDS=two": LISTEN_FDS is not a number of file descriptors (EINVAL)`)
      assert.strictEqual(process.env.LISTEN_FDS, "two")
      yield* Effect.flip(FdServer.fromSystemd())
      assert.isUndefined(process.env.LISTEN_FDS)
    }))
})
