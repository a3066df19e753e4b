import { Connector } from "@effect-socket/socket/Connector"
import * as Server from "@effect-socket/socket/Server"
import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as TcpServer from "@effect-socket/node/TcpServer"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"

describe("smoke", () => {
  it.scoped("echo round trip", () =>
    Effect.gen(function*() {
      const server = yield* TcpServer.make(0)
      yield* Effect.forkScoped(Server.serve(server, (c) => Stream.run(c.read, c.sink)))
      const connector = yield* Connector
      const conn = yield* connector.connect(server.address)
      yield* conn.write("hello")
      yield* conn.end
      const got = yield* Stream.runCollect(conn.read)
      assert.strictEqual(Buffer.concat(Chunk.toArray(got)).toString(), "hello")
    }).pipe(Effect.provide(TcpConnector.layer)))
})
