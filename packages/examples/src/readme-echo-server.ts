import { TcpServer } from "@effect-socket/node"
import { Connection, Server } from "@effect-socket/socket"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"

const program = Effect.gen(function*() {
  const server = yield* TcpServer.make(process.argv[2] ?? "127.0.0.1:8000")
  yield* Console.log(`listening on ${server.address}`)
  yield* Server.serve(server, (connection) => Connection.pipeTo(connection, connection))
})

NodeRuntime.runMain(Effect.scoped(program))
