/**
 * A netcat-like client: everything you type (stdin) is sent to the server and everything the
 * server sends is written to stdout, byte for byte. EOF on stdin (Ctrl-D) half-closes the
 * connection; the program ends when the server closes its side.
 *
 *   $ node packages/examples/dist/21-netcat-client.js 127.0.0.1:8000
 *   $ node packages/examples/dist/21-netcat-client.js localhost:8000
 *
 * The Effect version of ReactPHP socket's examples/21-netcat-client.php. The `effect-socket
 * connect` command is the full-featured version of it.
 */
import { NodeConnector } from "@effect-socket/node"
import { Connector } from "@effect-socket/socket"
import { NodeRuntime, NodeSink, NodeStream } from "@effect/platform-node"
import { Console, Effect, Stream } from "effect"

const uri = process.argv[2]

const program = Effect.gen(function*() {
  if (uri === undefined) return yield* Effect.fail(new Error("Usage error: required argument <host:port>"))
  yield* Console.error("Connecting")
  const connection = yield* Connector.connect(uri)
  yield* Console.error("Connected")
  // stdin to the connection (then FIN), in the background; the connection to stdout until it ends.
  yield* Effect.forkScoped(Stream.run(NodeStream.stdin, connection.sink))
  yield* Stream.run(connection.read, NodeSink.stdout)
  yield* Console.error("[CLOSED]")
}).pipe(
  Effect.tapError((error) => Console.error(`Connection error: ${error.message}`))
)

// ReactPHP's `new Connector()`: names resolved, IPv6/IPv4 raced, TLS verified, 60 s timeout.
NodeRuntime.runMain(program.pipe(Effect.scoped, Effect.provide(NodeConnector.layer())), {
  disableErrorReporting: true
})
