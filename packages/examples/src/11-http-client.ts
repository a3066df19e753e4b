/**
 * A plain HTTP client, for illustration only: it connects, sends a `GET /` request and prints
 * whatever the server answers until it closes the connection.
 * Real applications should use an HTTP library such as `@effect/platform`'s `HttpClient`.
 *
 *   $ node packages/examples/dist/11-http-client.js 127.0.0.1:8000
 *   $ node packages/examples/dist/11-http-client.js example.com
 *
 * The argument is `host[:port]` (default www.google.com, port 80). The Effect version of
 * ReactPHP socket's examples/11-http-client.php.
 */
import { NodeConnector } from "@effect-socket/node"
import { Connector } from "@effect-socket/socket"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Stream } from "effect"

const target = process.argv[2] ?? "www.google.com"
const authority = /:\d+$/.test(target) ? target : `${target}:80`

const program = Effect.gen(function*() {
  const connection = yield* Connector.connect(authority)
  yield* connection.write(`GET / HTTP/1.0\r\nHost: ${target}\r\n\r\n`)
  yield* Stream.runForEach(connection.read, (chunk) => Effect.sync(() => process.stdout.write(chunk)))
  yield* Console.log("[CLOSED]")
}).pipe(
  Effect.tapError((error) => Console.error(`Error: ${error.message}`))
)

// ReactPHP's `new Connector()`: names resolved, IPv6/IPv4 raced, TLS verified, 60 s timeout.
NodeRuntime.runMain(program.pipe(Effect.scoped, Effect.provide(NodeConnector.layer())), {
  disableErrorReporting: true
})
