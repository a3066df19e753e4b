import type { Connection } from "@effect-socket/socket/Connection"
import * as Connector from "@effect-socket/socket/Connector"
import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as TcpServer from "@effect-socket/node/TcpServer"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { cli, listen } from "./cliProcess.js"

const readAll = (connection: Connection) =>
  Effect.map(Stream.runCollect(connection.read), (chunks) => Buffer.concat(Chunk.toArray(chunks)).toString())

/** Reads until `text` has arrived (or the stream ends) and returns what was read. */
const readUntil = (connection: Connection, predicate: (text: string) => boolean) =>
  connection.read.pipe(
    Stream.decodeText(),
    Stream.scan("", (text, chunk) => text + chunk),
    Stream.takeUntil(predicate),
    Stream.runLast,
    Effect.map(Option.getOrElse(() => ""))
  )

describe("effect-socket listen", () => {
  it.scoped("echoes, prints the bound address, and on SIGINT closes everything and exits 0", () =>
    Effect.gen(function*() {
      const { address, proc } = yield* listen("127.0.0.1:0")
      assert.match(address, /^tcp:\/\/127\.0\.0\.1:\d+$/)
      const connection = yield* Connector.connect(address)
      yield* connection.write("hello")
      assert.strictEqual(yield* readUntil(connection, (text) => text === "hello"), "hello")
      // The client stays connected: SIGINT must close its connection too.
      proc.child.kill("SIGINT")
      const exited = yield* proc.closed
      assert.strictEqual(exited.code, 0, proc.stderr())
      assert.strictEqual(yield* readAll(connection), "")
      // The port is free again: binding it succeeds.
      const again = yield* TcpServer.make(address)
      assert.strictEqual(again.address, address)
    }).pipe(Effect.provide(TcpConnector.layer)))

  it.scoped("--mode discard reads everything and answers nothing", () =>
    Effect.gen(function*() {
      const { address } = yield* listen("127.0.0.1:0", "--mode", "discard")
      const connection = yield* Connector.connect(address)
      yield* connection.write(Buffer.alloc(1024 * 1024, 7))
      yield* connection.end
      assert.strictEqual(yield* readAll(connection), "")
    }).pipe(Effect.provide(TcpConnector.layer)))

  it.scoped("--mode chat sends every line to every client, prefixed with the sender's address", () =>
    Effect.gen(function*() {
      const { address } = yield* listen("127.0.0.1:0", "--mode", "chat")
      const alice = yield* Connector.connect(address)
      const bob = yield* Connector.connect(address)
      const aliceName = Option.getOrThrow(alice.localAddress)
      const bobName = Option.getOrThrow(bob.localAddress)
      // Both are in the room once each sees its own first message.
      yield* alice.write("hi from alice\n")
      yield* readUntil(alice, (text) => text.includes("hi from alice"))
      yield* bob.write("hi from bob\n\n")
      yield* readUntil(bob, (text) => text.includes("hi from bob"))
      const seenByAlice = yield* readUntil(alice, (text) => text.includes("hi from bob"))
      assert.strictEqual(seenByAlice, `${bobName}: hi from bob\n`)
      yield* alice.write("bye\n")
      const seenByBob = yield* readUntil(bob, (text) => text.includes("bye"))
      assert.strictEqual(seenByBob, `${aliceName}: bye\n`)
    }).pipe(Effect.provide(TcpConnector.layer)))

  it.scoped("--mode stdio bridges the first connection to stdin/stdout, then exits 0", () =>
    Effect.gen(function*() {
      const proc = yield* cli("listen", "127.0.0.1:0", "--mode", "stdio")
      const [, address] = yield* proc.waitForStderr(/Listening on (\S+)/)
      yield* proc.input("from the terminal\n", true)
      const connection = yield* Connector.connect(address!)
      yield* connection.write("from the peer\n")
      yield* connection.end
      assert.strictEqual(yield* readAll(connection), "from the terminal\n")
      const exited = yield* proc.closed
      assert.strictEqual(exited.code, 0, proc.stderr())
      assert.strictEqual(proc.stdout().toString(), "from the peer\n")
    }).pipe(Effect.provide(TcpConnector.layer)))

  it.scoped("--limit 1 rejects a second connection while the first is open, and reports it", () =>
    Effect.gen(function*() {
      const { address, proc } = yield* listen("127.0.0.1:0", "--limit", "1")
      const first = yield* Connector.connect(address)
      yield* first.write("one")
      yield* readUntil(first, (text) => text === "one")
      const second = yield* Connector.connect(address)
      // Rejected: closed by the server without an answer.
      assert.strictEqual(yield* readAll(second), "")
      yield* proc.waitForStderr(/Error: Connection rejected because server reached connection limit/)
      yield* first.write("still here")
      assert.strictEqual(yield* readUntil(first, (text) => text === "still here"), "still here")
    }).pipe(Effect.provide(TcpConnector.layer)))

  it.scoped("--limit 1 --pause-on-limit holds a second connection until the first closes", () =>
    Effect.gen(function*() {
      const { address } = yield* listen("127.0.0.1:0", "--limit", "1", "--pause-on-limit")
      const first = yield* Connector.connect(address)
      yield* first.write("one")
      yield* readUntil(first, (text) => text === "one")
      const second = yield* Connector.connect(address)
      yield* second.write("two")
      yield* second.end
      // The second is served (not rejected) once the first ends.
      yield* first.end
      assert.strictEqual(yield* readAll(first), "")
      assert.strictEqual(yield* readAll(second), "two")
    }).pipe(Effect.provide(TcpConnector.layer)))

  it.scoped("fails with the listen error's message and exit code 1", () =>
    Effect.gen(function*() {
      const proc = yield* cli("listen", "localhost:0")
      const exited = yield* proc.closed
      assert.strictEqual(exited.code, 1)
      assert.strictEqual(proc.stderr().trim(), `Given URI "tcp://localhost:0" does not contain a valid host IP (EINVAL)`)
    }))

  it.scoped("fails with EADDRINUSE when the address is taken", () =>
    Effect.gen(function*() {
      const taken = yield* TcpServer.make("127.0.0.1:0")
      const proc = yield* cli("listen", taken.address)
      const exited = yield* proc.closed
      assert.strictEqual(exited.code, 1)
      assert.strictEqual(proc.stderr().trim(), `Failed to listen on "${taken.address}": Address already in use (EADDRINUSE)`)
    }))
})
