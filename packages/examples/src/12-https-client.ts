/**
 * A plain HTTPS client, for illustration only: it connects with TLS (the server's certificate
 * verified against Node's trusted CAs, and its name against the host), sends a `GET /` request
 * and prints whatever the server answers until it closes the connection.
 * Real applications should use an HTTP library such as `@effect/platform`'s `HttpClient`.
 *
 *   $ node packages/examples/dist/12-https-client.js example.com
 *
 * With a self-signed certificate (see 99-generate-self-signed and 03-http-server), tell Node to
 * trust it:
 *
 *   $ NODE_EXTRA_CA_CERTS=localhost.pem node packages/examples/dist/12-https-client.js localhost:8000
 *
 * The argument is `host[:port]` (default www.google.com, port 443). The Effect version of
 * ReactPHP socket's examples/12-https-client.php.
 */
import { NodeResolver, TcpConnector, TlsConnector } from "@effect-socket/node"
import { Connector, HappyEyeballsConnector } from "@effect-socket/socket"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer, Stream } from "effect"

const target = process.argv[2] ?? "www.google.com"
const authority = /:\d+$/.test(target) ? target : `${target}:443`

const program = Effect.gen(function*() {
  const connection = yield* Connector.connect(`tls://${authority}`)
  yield* connection.write(`GET / HTTP/1.0\r\nHost: ${target}\r\n\r\n`)
  yield* Stream.runForEach(connection.read, (chunk) => Effect.sync(() => process.stdout.write(chunk)))
  yield* Console.log("[CLOSED]")
}).pipe(
  Effect.tapError((error) => Console.error(`Error: ${error.message}`))
)

// TLS over names resolved and IPv6/IPv4 raced (RFC 8305), as ReactPHP's Connector does.
const ConnectorLive = TlsConnector.layer().pipe(
  Layer.provide(HappyEyeballsConnector.layer()),
  Layer.provide(TcpConnector.layer),
  Layer.provide(NodeResolver.layer())
)

NodeRuntime.runMain(program.pipe(Effect.scoped, Effect.provide(ConnectorLive)), { disableErrorReporting: true })
