import * as TcpServer from "@effect-socket/node/TcpServer"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as crypto from "node:crypto"
import { spawn } from "../../cli/test/process.js"
import { run, server } from "./example.js"

describe("client examples", () => {
  it.scoped("21-netcat-client pipes stdin to a socat echo peer and the answer to stdout, byte for byte", () =>
    Effect.gen(function*() {
      const socat = yield* spawn("socat", ["-d", "-d", "TCP-LISTEN:0,bind=127.0.0.1", "EXEC:cat"])
      const [, port] = yield* socat.waitForStderr(/listening on .*:(\d+)\s/)
      const payload = crypto.randomBytes(1024 * 1024)
      const result = yield* run("21-netcat-client", [`127.0.0.1:${port}`], payload)
      assert.strictEqual(result.code, 0, result.stderr)
      assert.isTrue(result.stdout.equals(payload))
      assert.strictEqual(result.stderr, "Connecting\nConnected\n[CLOSED]\n")
    }))

  it.scoped("21-netcat-client reports a refused connection and exits 1", () =>
    Effect.gen(function*() {
      const closed = yield* Effect.scoped(Effect.map(TcpServer.make("127.0.0.1:0"), (s) => s.address))
      const result = yield* run("21-netcat-client", [closed])
      assert.strictEqual(result.code, 1)
      assert.strictEqual(
        result.stderr,
        `Connecting\nConnection error: Connection to ${closed} failed: Connection refused (ECONNREFUSED)\n`
      )
    }))

  it.scoped("42-key-value-client sets and gets values on 41-key-value-server", () =>
    Effect.gen(function*() {
      const { address } = yield* server("41-key-value-server")
      const set = yield* run("42-key-value-client", [address, "SET", "greeting", "hello", "world"])
      assert.strictEqual(set.code, 0, set.stderr)
      assert.strictEqual(set.stdout.toString(), "OK\n")
      const get = yield* run("42-key-value-client", [address, "GET", "greeting"])
      assert.strictEqual(get.stdout.toString(), "hello world\n")
      const missing = yield* run("42-key-value-client", [address, "GET", "nothing"])
      assert.strictEqual(missing.stdout.toString(), "(not found)\n")
    }))
})
