/**
 * Just start this server and connect with any number of clients to it: every line a client
 * sends is broadcast to all connected clients, prefixed with the sender's IP.
 *
 *   $ node packages/examples/dist/02-chat-server.js 127.0.0.1:8000
 *   $ effect-socket connect 127.0.0.1:8000      (in two terminals)
 *
 * You can also run a secure TLS server, with a certificate and key in one PEM file (see
 * 99-generate-self-signed):
 *
 *   $ node packages/examples/dist/02-chat-server.js tls://127.0.0.1:8000 localhost.pem
 *   $ effect-socket connect --insecure tls://127.0.0.1:8000
 *
 * You can also run it on a Unix domain socket, or on a listening socket it inherits as fd 3
 * (systemd socket activation):
 *
 *   $ node packages/examples/dist/02-chat-server.js unix:///tmp/server.sock
 *   $ effect-socket connect unix:///tmp/server.sock
 *   $ systemd-socket-activate -l 8000 node packages/examples/dist/02-chat-server.js fd://3
 *
 * The Effect version of ReactPHP socket's examples/02-chat-server.php: a `LimitingServer`
 * without a limit keeps the list of open connections, and each message goes to all of them.
 */
import { SocketServer } from "@effect-socket/node"
import { LimitingServer, Server, SocketUri } from "@effect-socket/socket"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Either, Option, Stream } from "effect"
import * as fs from "node:fs"

// For tls:// URIs: the PEM file with the certificate and its key.
const tls = process.argv[3] === undefined ? {} : { pem: fs.readFileSync(process.argv[3]) }

const program = Effect.gen(function*() {
  const server = yield* LimitingServer.make(yield* SocketServer.make(process.argv[2] ?? "127.0.0.1:0", { tls }), { limit: null })
  yield* Console.log(`Listening on ${server.address}`)

  const broadcast = (message: string) =>
    Effect.flatMap(server.openConnections, (connections) =>
      // A client that has gone away must not stop the others from getting the message.
      Effect.forEach(connections, (connection) => Effect.ignore(connection.write(message)), {
        concurrency: "unbounded",
        discard: true
      }))

  yield* Server.serve(server, (connection) => {
    const peer = Option.getOrElse(connection.remoteAddress, () => "unknown")
    const ip = Either.match(SocketUri.parseEither(peer), { onLeft: () => peer, onRight: (uri) => uri.host })
    return Console.log(`[${peer} connected]`).pipe(
      Effect.zipRight(connection.read.pipe(
        Stream.decodeText(),
        Stream.splitLines,
        // Keep word characters and a little punctuation (just for the demo); skip empty messages.
        Stream.map((line) => line.replace(/[^\w\d .,\-!?]/gu, "").trim()),
        Stream.filter((line) => line.length > 0),
        Stream.runForEach((line) => broadcast(`${ip}: ${line}\n`))
      )),
      Effect.ensuring(Console.log(`[${peer} disconnected]`))
    )
  })
})

NodeRuntime.runMain(Effect.scoped(program))
