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
import { NodeResolver, TcpConnector } from "@effect-socket/node"
import { Connector, HappyEyeballsConnector } from "@effect-socket/socket"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer, Stream } from "effect"

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

// Names are resolved, and IPv6 and IPv4 addresses raced (RFC 8305), as ReactPHP's Connector does.
const ConnectorLive = HappyEyeballsConnector.layer().pipe(
  Layer.provide(TcpConnector.layer),
  Layer.provide(NodeResolver.layer())
)

NodeRuntime.runMain(program.pipe(Effect.scoped, Effect.provide(ConnectorLive)), { disableErrorReporting: true })
