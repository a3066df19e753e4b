/**
 * A plain HTTP server, for illustration only: it accepts a connection, waits for the request's
 * first bytes (it does not parse them: send anything) and answers with a small HTML page.
 * Real applications should use an HTTP library such as `@effect/platform`'s `HttpServer`.
 *
 *   $ node packages/examples/dist/03-http-server.js 127.0.0.1:8000
 *   $ curl -v http://127.0.0.1:8000/
 *
 * You can also run a secure TLS server, with a certificate and key in one PEM file (see
 * 99-generate-self-signed):
 *
 *   $ node packages/examples/dist/03-http-server.js tls://127.0.0.1:8000 localhost.pem
 *   $ curl -v --insecure https://127.0.0.1:8000/
 *
 * You can also run it on a Unix domain socket, or on a listening socket it inherits as fd 3
 * (systemd socket activation):
 *
 *   $ node packages/examples/dist/03-http-server.js unix:///tmp/server.sock
 *   $ curl --unix-socket /tmp/server.sock http://localhost/
 *   $ systemd-socket-activate -l 8000 node packages/examples/dist/03-http-server.js fd://3
 *
 * The Effect version of ReactPHP socket's examples/03-http-server.php.
 */
import { SocketServer } from "@effect-socket/node"
import { Server } from "@effect-socket/socket"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Stream } from "effect"
import * as fs from "node:fs"

const body = "<html><h1>Hello world!</h1></html>\r\n"
const response = `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`

// For tls:// URIs: the PEM file with the certificate and its key.
const tls = process.argv[3] === undefined ? {} : { pem: fs.readFileSync(process.argv[3]) }

const program = Effect.gen(function*() {
  const server = yield* SocketServer.make(process.argv[2] ?? "127.0.0.1:0", { tls })
  yield* Console.log(`Listening on ${server.address.replace(/^tcp:/, "http:").replace(/^tls:/, "https:")}`)

  yield* Server.serve(server, (connection) =>
    Effect.gen(function*() {
      // Wait for the first chunk of the request (or the client's FIN).
      yield* Stream.runDrain(Stream.take(connection.read, 1))
      yield* connection.write(response)
      yield* connection.end
      // Let the client read the answer and close first: closing with its request still
      // unread would reset the connection.
      yield* Stream.runDrain(connection.read)
    }))
})

NodeRuntime.runMain(Effect.scoped(program))
