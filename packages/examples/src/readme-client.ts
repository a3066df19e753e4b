import { TcpConnector } from "@effect-socket/node"
import { Connector } from "@effect-socket/socket"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Stream } from "effect"

const program = Effect.gen(function*() {
  const connection = yield* Connector.connect(process.argv[2] ?? "tcp://127.0.0.1:8000")
  yield* connection.write("hello\n")
  yield* connection.end
  const reply = yield* connection.read.pipe(Stream.decodeText(), Stream.mkString)
  yield* Console.log(reply)
})

NodeRuntime.runMain(program.pipe(Effect.scoped, Effect.provide(TcpConnector.layer)))
