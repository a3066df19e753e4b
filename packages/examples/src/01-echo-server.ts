/**
 * Just start this server and connect to it: everything you send to it is sent back to you.
 *
 *   $ node packages/examples/dist/01-echo-server.js 127.0.0.1:8000
 *   $ effect-socket connect 127.0.0.1:8000      (or: telnet 127.0.0.1 8000)
 *
 * You can also run a secure TLS server, with a certificate and key in one PEM file (see
 * 99-generate-self-signed):
 *
 *   $ node packages/examples/dist/01-echo-server.js tls://127.0.0.1:8000 localhost.pem
 *   $ openssl s_client -connect 127.0.0.1:8000
 *
 * You can also run it on a Unix domain socket, or on a listening socket it inherits as fd 3
 * (systemd socket activation):
 *
 *   $ node packages/examples/dist/01-echo-server.js unix:///tmp/server.sock
 *   $ effect-socket connect unix:///tmp/server.sock
 *   $ systemd-socket-activate -l 8000 node packages/examples/dist/01-echo-server.js fd://3
 *
 * The Effect version of ReactPHP socket's examples/01-echo-server.php. Ctrl-C closes the server
 * and every connection (they belong to the program's scope).
 */
import { SocketServer } from "@effect-socket/node"
import { Connection, Server } from "@effect-socket/socket"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Option, Stream } from "effect"
import * as fs from "node:fs"

// For tls:// URIs: the PEM file with the certificate and its key.
const tls = process.argv[3] === undefined ? {} : { pem: fs.readFileSync(process.argv[3]) }

const program = Effect.gen(function*() {
  const server = yield* SocketServer.make(process.argv[2] ?? "127.0.0.1:0", { tls })
  yield* Console.log(`Listening on ${server.address}`)
  yield* Effect.forkScoped(Stream.runForEach(server.errors, (error) => Console.log(`Error: ${error.message}`)))

  yield* Server.serve(server, (connection) => {
    const peer = Option.getOrElse(connection.remoteAddress, () => "unknown")
    return Console.log(`[${peer} connected]`).pipe(
      // Echo: the connection's bytes back into the connection; its FIN ends our side too.
      Effect.zipRight(Connection.pipeTo(connection, connection)),
      Effect.ensuring(Console.log(`[${peer} disconnected]`))
    )
  })
})

NodeRuntime.runMain(Effect.scoped(program))
