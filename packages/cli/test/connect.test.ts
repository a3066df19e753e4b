import * as TcpServer from "@effect-socket/node/TcpServer"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as crypto from "node:crypto"
import * as net from "node:net"
import { cli, listen, runCli } from "./cliProcess.js"
import { spawn } from "./process.js"

/** A port that nothing listens on: bound on port 0, then released. */
const closedPort = Effect.scoped(Effect.map(TcpServer.make("127.0.0.1:0"), (server) => server.address))

describe("effect-socket connect", () => {
  it.scoped("pipes a binary file through `listen` (echo) and back, byte for byte, and exits 0", () =>
    Effect.gen(function*() {
      const { address } = yield* listen("127.0.0.1:0")
      // Every byte value, then random data: no decoding may touch it.
      const payload = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), crypto.randomBytes(3 * 1024 * 1024)])
      const result = yield* runCli(["connect", address], payload)
      assert.strictEqual(result.code, 0, result.stderr)
      assert.strictEqual(result.stdout.length, payload.length)
      assert.isTrue(result.stdout.equals(payload))
    }))

  it.scoped("talks to a socat echo peer over IPv6 and passes stdin's EOF on as a half-close", () =>
    Effect.gen(function*() {
      // socat's `cat` only exits (and socat only closes) once it reads EOF: our half-close.
      const socat = yield* spawn("socat", ["-d", "-d", "TCP6-LISTEN:0,bind=[::1]", "EXEC:cat"])
      const [, port] = yield* socat.waitForStderr(/listening on .*:(\d+)\s/)
      const payload = crypto.randomBytes(512 * 1024)
      const result = yield* runCli(["connect", `tcp://[::1]:${port}`], payload)
      assert.strictEqual(result.code, 0, result.stderr)
      assert.isTrue(result.stdout.equals(payload))
      assert.strictEqual((yield* socat.closed).code, 0)
    }))

  it.scoped("exits 0 when the peer closes first, without waiting for stdin's EOF", () =>
    Effect.gen(function*() {
      const socat = yield* spawn("socat", ["-d", "-d", "TCP-LISTEN:0,bind=127.0.0.1", "SYSTEM:echo greeting"])
      const [, port] = yield* socat.waitForStderr(/listening on .*:(\d+)\s/)
      // stdin stays open, as a terminal's would.
      const client = yield* cli("connect", `127.0.0.1:${port}`)
      const exited = yield* client.closed
      assert.strictEqual(exited.code, 0, client.stderr())
      assert.strictEqual(client.stdout().toString(), "greeting\n")
    }))

  it.scoped("exits 1 with the read error's message when the peer resets the connection", () =>
    Effect.gen(function*() {
      // A peer that answers the first bytes of every connection with a RST.
      const peer = yield* Effect.acquireRelease(
        Effect.async<net.Server>((resume) => {
          const server = net.createServer((socket) => socket.once("data", () => socket.resetAndDestroy()))
          server.listen({ host: "127.0.0.1", port: 0 }, () => resume(Effect.succeed(server)))
        }),
        (server) => Effect.async<void>((resume) => void server.close(() => resume(Effect.void)))
      )
      const address = `tcp://127.0.0.1:${(peer.address() as net.AddressInfo).port}`
      const client = yield* cli("connect", address)
      yield* client.input("ping")
      const exited = yield* client.closed
      assert.strictEqual(exited.code, 1)
      // The peer's address may be gone by the time the reset is reported: the message may lack it.
      assert.match(
        client.stderr().trim(),
        /^Unable to read from connection( to tcp:\/\/127\.0\.0\.1:\d+)?: Connection reset by peer \(ECONNRESET\)$/
      )
    }))

  it.scoped("fails with the connect error's message, exit code 1 and no stack trace", () =>
    Effect.gen(function*() {
      const address = yield* closedPort
      const result = yield* runCli(["connect", address])
      assert.strictEqual(result.code, 1)
      assert.strictEqual(result.stderr.trim(), `Connection to ${address} failed: Connection refused (ECONNREFUSED)`)
      assert.strictEqual(result.stdout.length, 0)
    }))

  it.scoped("prints the full cause with a stack trace under --verbose", () =>
    Effect.gen(function*() {
      const address = yield* closedPort
      const result = yield* runCli(["connect", "--verbose", address])
      assert.strictEqual(result.code, 1)
      assert.include(result.stderr, `Connection to ${address} failed: Connection refused (ECONNREFUSED)`)
      assert.match(result.stderr, /\n\s+at /)
    }))

  it.scoped("--timeout gives up on a peer that never answers, with ETIMEDOUT", () =>
    Effect.gen(function*() {
      // A listener with a full accept queue (backlog 0, one connection waiting, never accepted):
      // Linux drops further SYNs, so the next connection attempt hangs until it times out.
      const listener = yield* spawn("python3", [
        "-c",
        "import socket, sys, time\n" +
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(0)\n" +
        "c = socket.create_connection(s.getsockname())\n" +
        "sys.stderr.write('port %d\\n' % s.getsockname()[1]); sys.stderr.flush()\n" +
        "time.sleep(60)\n"
      ])
      const [, port] = yield* listener.waitForStderr(/port (\d+)\n/)
      const result = yield* runCli(["connect", "--timeout", "0.5", `127.0.0.1:${port}`])
      assert.strictEqual(result.code, 1)
      assert.strictEqual(result.stderr.trim(), `Connection to 127.0.0.1:${port} timed out after 0.5 seconds (ETIMEDOUT)`)
    }))

  it.scoped("rejects a malformed URI with EINVAL before connecting", () =>
    Effect.gen(function*() {
      const result = yield* runCli(["connect", "tcp://127.0.0.1"])
      assert.strictEqual(result.code, 1)
      assert.strictEqual(result.stderr.trim(), `Given URI "tcp://127.0.0.1" is invalid: missing port (EINVAL)`)
    }))

  it.scoped("--verbose names both ends and the address family on stderr", () =>
    Effect.gen(function*() {
      const { address } = yield* listen("[::1]:0")
      const result = yield* runCli(["connect", address, "--verbose"], "ping")
      assert.strictEqual(result.code, 0, result.stderr)
      assert.strictEqual(result.stdout.toString(), "ping")
      assert.match(result.stderr, new RegExp(`Connected to ${address.replace(/[[\]]/g, "\\$&")} from tcp://\\[::1\\]:\\d+ \\(IPv6\\)`))
    }))
})
