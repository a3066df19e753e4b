import type { Connection } from "@effect-socket/socket/Connection"
import * as Connector from "@effect-socket/socket/Connector"
import * as TcpConnector from "@effect-socket/node/TcpConnector"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { spawn } from "../../cli/test/process.js"
import { example, run, server } from "./example.js"

const readAll = (connection: Connection) =>
  Effect.map(Stream.runCollect(connection.read), (chunks) => Buffer.concat(Chunk.toArray(chunks)))

/** Reads until `predicate` holds for the text read so far, and returns that text. */
const readUntil = (connection: Connection, predicate: (text: string) => boolean) =>
  connection.read.pipe(
    Stream.decodeText(),
    Stream.scan("", (text, chunk) => text + chunk),
    Stream.takeUntil(predicate),
    Stream.runLast,
    Effect.map(Option.getOrElse(() => ""))
  )

const port = (address: string) => address.slice(address.lastIndexOf(":") + 1)

describe("server examples", () => {
  it.scoped("01-echo-server echoes bytes, logs connections, and exits 0 on SIGINT", () =>
    Effect.gen(function*() {
      const { address, proc } = yield* server("01-echo-server")
      const connection = yield* Connector.connect(address)
      const local = Option.getOrThrow(connection.localAddress)
      const payload = crypto.randomBytes(256 * 1024)
      yield* connection.write(payload)
      yield* connection.end
      assert.isTrue((yield* readAll(connection)).equals(payload))
      yield* proc.waitFor("stdout", new RegExp(`\\[${local} disconnected\\]`))
      assert.include(proc.stdout().toString(), `[${local} connected]`)
      proc.child.kill("SIGINT")
      assert.strictEqual((yield* proc.closed).code, 0)
    }).pipe(Effect.provide(TcpConnector.layer)))

  it.scoped("02-chat-server broadcasts each cleaned-up line to every client", () =>
    Effect.gen(function*() {
      const { address, proc } = yield* server("02-chat-server")
      const alice = yield* Connector.connect(address)
      yield* proc.waitFor("stdout", new RegExp(`\\[${Option.getOrThrow(alice.localAddress)} connected\\]`))
      const bob = yield* Connector.connect(address)
      yield* proc.waitFor("stdout", new RegExp(`\\[${Option.getOrThrow(bob.localAddress)} connected\\]`))
      yield* alice.write("hello <b>bob</b>!\n\n")
      const expected = "127.0.0.1: hello bbobb!\n"
      assert.strictEqual(yield* readUntil(bob, (text) => text.endsWith("\n")), expected)
      assert.strictEqual(yield* readUntil(alice, (text) => text.endsWith("\n")), expected)
    }).pipe(Effect.provide(TcpConnector.layer)))

  it.scoped("03-http-server answers curl with its page", () =>
    Effect.gen(function*() {
      const { address } = yield* server("03-http-server")
      assert.match(address, /^http:\/\/127\.0\.0\.1:\d+$/)
      const curl = yield* spawn("curl", ["-sS", "-i", `${address}/`])
      const exited = yield* curl.closed
      assert.strictEqual(exited.code, 0, curl.stderr())
      const response = curl.stdout().toString()
      assert.match(response, /^HTTP\/1\.1 200 OK\r\n/)
      assert.include(response, "\r\n\r\n<html><h1>Hello world!</h1></html>\r\n")
    }))

  it.scoped("03-http-server answers curl on a Unix socket too, and removes the socket file on SIGINT", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "es-example-"))),
        (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
      )
      const file = path.join(dir, "http.sock")
      const proc = yield* example("03-http-server", `unix://${file}`)
      yield* proc.waitFor("stdout", new RegExp(`Listening on unix://${file}\n`))
      const curl = yield* spawn("curl", ["-sS", "--unix-socket", file, "http://localhost/"])
      assert.strictEqual((yield* curl.closed).code, 0, curl.stderr())
      assert.strictEqual(curl.stdout().toString(), "<html><h1>Hello world!</h1></html>\r\n")
      proc.child.kill("SIGINT")
      assert.strictEqual((yield* proc.closed).code, 0)
      assert.isFalse(fs.existsSync(file))
    }))

  it.scoped("11-http-client fetches the page of 03-http-server by name (localhost) and prints [CLOSED]", () =>
    Effect.gen(function*() {
      const { address } = yield* server("03-http-server")
      const result = yield* run("11-http-client", [`localhost:${port(address)}`])
      assert.strictEqual(result.code, 0, result.stderr)
      const output = result.stdout.toString()
      assert.match(output, /^HTTP\/1\.1 200 OK\r\n/)
      assert.isTrue(output.endsWith("<html><h1>Hello world!</h1></html>\r\n[CLOSED]\n"))
    }))

  it.scoped("91-benchmark-server reports the bytes each connection sent", () =>
    Effect.gen(function*() {
      const { address, proc } = yield* server("91-benchmark-server")
      const connection = yield* Connector.connect(address)
      yield* connection.write(Buffer.alloc(3 * 1024 * 1024 + 5))
      yield* connection.end
      const local = Option.getOrThrow(connection.localAddress)
      yield* proc.waitFor(
        "stdout",
        new RegExp(`\\[${local} disconnected after receiving ${3 * 1024 * 1024 + 5} bytes in \\d+\\.\\d{3}s => \\d+\\.\\d MiB/s\\]`)
      )
    }).pipe(Effect.provide(TcpConnector.layer)))

  it.scoped("31-bounded-server serves 2 clients at a time; the third waits for a free slot", () =>
    Effect.gen(function*() {
      const { address } = yield* server("31-bounded-server", "2")
      const first = yield* Connector.connect(address)
      assert.strictEqual(yield* readUntil(first, (t) => t.endsWith("\n")), "Welcome, client #1: 1 of 2 slots in use\n")
      const second = yield* Connector.connect(address)
      assert.strictEqual(yield* readUntil(second, (t) => t.endsWith("\n")), "Welcome, client #2: 2 of 2 slots in use\n")
      const third = yield* Connector.connect(address)
      yield* third.write("waiting\n")
      // Served only once the first client leaves: still two slots in use, never three.
      yield* first.end
      assert.strictEqual(yield* readAll(first).pipe(Effect.map(String)), "")
      assert.strictEqual(
        yield* readUntil(third, (t) => t.endsWith("WAITING\n")),
        "Welcome, client #3: 2 of 2 slots in use\nWAITING\n"
      )
    }).pipe(Effect.provide(TcpConnector.layer)))
})
