import { TcpServer } from "@effect-socket/node"
import { Server } from "@effect-socket/socket"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Stream } from "effect"

const program = Effect.gen(function*() {
  const server = yield* TcpServer.make(process.argv[2] ?? "127.0.0.1:8000")
  yield* Console.log(`listening on ${server.address}`)
  yield* Server.serve(server, (connection) => Stream.run(connection.read, connection.sink))
})

NodeRuntime.runMain(Effect.scoped(program))
