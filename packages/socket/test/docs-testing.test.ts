/**
 * The example of docs/testing.md, verified: each TypeScript block of that guide must appear
 * verbatim in this file (checked by the last test), and the tests here run it.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as fs from "node:fs"
import { Connection, Connector, MemoryNetwork, Server, SocketError, TimeoutConnector } from "@effect-socket/socket"

// --- the protocol under test ---

// One command per line: `HELLO <name>` → `HI <name>`, `ECHO <text>` → `<text>`,
// `QUIT` → `BYE` and the server half-closes; anything else → `ERR unknown command`.
const reply = (line: string): string => {
  const [command = "", ...rest] = line.split(" ")
  const argument = rest.join(" ")
  switch (command) {
    case "HELLO":
      return `HI ${argument}`
    case "ECHO":
      return argument
    case "QUIT":
      return "BYE"
    default:
      return "ERR unknown command"
  }
}

const handle = (connection: Connection.Connection) =>
  connection.read.pipe(
    Stream.decodeText(),
    Stream.splitLines,
    Stream.takeUntil((line) => line === "QUIT"),
    Stream.runForEach((line) => connection.write(`${reply(line)}\n`)),
    Effect.zipRight(connection.end)
  )

// The client: says hello, quits, and returns every line the server sent.
const greet = (uri: string, name: string) =>
  Effect.scoped(Effect.gen(function*() {
    const connection = yield* Connector.connect(uri)
    yield* connection.write(`HELLO ${name}\nQUIT\n`)
    const lines = yield* connection.read.pipe(Stream.decodeText(), Stream.splitLines, Stream.runCollect)
    return Chunk.toReadonlyArray(lines)
  }))

// --- the tests ---

describe("a line protocol", () => {
  it.scoped("the handler answers each line and half-closes after QUIT (Connection.makePair)", () =>
    Effect.gen(function*() {
      const [client, server] = yield* Connection.makePair()
      const handler = yield* Effect.fork(handle(server))
      yield* client.write("HELLO ada\nECHO two words\nPING\nQUIT\nECHO ignored\n")
      const lines = yield* client.read.pipe(Stream.decodeText(), Stream.splitLines, Stream.runCollect)
      assert.deepStrictEqual(Chunk.toReadonlyArray(lines), ["HI ada", "two words", "ERR unknown command", "BYE"])
      yield* Fiber.join(handler)
    }))

  it.scoped("client and server talk through the network (MemoryNetwork)", () =>
    Effect.gen(function*() {
      const server = yield* MemoryNetwork.listen("tcp://127.0.0.1:7000")
      yield* Effect.forkScoped(Server.serve(server, handle))
      assert.deepStrictEqual(yield* greet("tcp://127.0.0.1:7000", "ada"), ["HI ada", "BYE"])
      assert.deepStrictEqual(yield* greet("127.0.0.1:7000", "grace"), ["HI grace", "BYE"])
    }).pipe(Effect.provide(MemoryNetwork.layer)))

  it.effect("the client reports a refused connection (Layer.succeed double)", () =>
    Effect.gen(function*() {
      const refusing = Layer.succeed(
        Connector.Connector,
        Connector.Connector.of({
          connect: (uri) =>
            Effect.fail(
              new SocketError.ConnectError({ reason: "Failed", uri, code: "ECONNREFUSED", detail: "Connection refused" })
            )
        })
      )
      const error = yield* Effect.flip(greet("tcp://127.0.0.1:7000", "ada").pipe(Effect.provide(refusing)))
      assert.strictEqual(error.message, "Connection to tcp://127.0.0.1:7000 failed: Connection refused (ECONNREFUSED)")
    }))

  it.effect("the client gives up on a server that never answers (TestClock)", () =>
    Effect.gen(function*() {
      const silent = Layer.succeed(Connector.Connector, Connector.Connector.of({ connect: () => Effect.never }))
      const connector = TimeoutConnector.layer("3 seconds").pipe(Layer.provide(silent))
      const attempt = yield* Effect.fork(greet("tcp://127.0.0.1:7000", "ada").pipe(Effect.provide(connector)))
      yield* TestClock.adjust("3 seconds")
      const error = yield* Effect.flip(Fiber.join(attempt))
      assert.strictEqual(error.message, "Connection to tcp://127.0.0.1:7000 timed out after 3.0 seconds (ETIMEDOUT)")
    }))
})

it("docs/testing.md shows only code from this file", () => {
  const guide = fs.readFileSync(new URL("../../../docs/testing.md", import.meta.url), "utf8")
  const self = fs.readFileSync(new URL(import.meta.url), "utf8")
  const blocks = Array.from(guide.matchAll(/```ts\n([\s\S]*?)```/g), (match) => match[1]!)
  assert.isAbove(blocks.length, 0)
  for (const block of blocks) assert.include(self, block)
})
