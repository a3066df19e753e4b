/**
 * Just start this server and connect to it: everything you send to it is sent back to you.
 *
 *   $ node packages/examples/dist/01-echo-server.js 127.0.0.1:8000
 *   $ effect-socket connect 127.0.0.1:8000      (or: telnet 127.0.0.1 8000)
 *
 * The Effect version of ReactPHP socket's examples/01-echo-server.php. Ctrl-C closes the server
 * and every connection (they belong to the program's scope).
 */
import { TcpServer } from "@effect-socket/node"
import { Server } from "@effect-socket/socket"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Option, Stream } from "effect"

const program = Effect.gen(function*() {
  const server = yield* TcpServer.make(process.argv[2] ?? "127.0.0.1:0")
  yield* Console.log(`Listening on ${server.address}`)
  yield* Effect.forkScoped(Stream.runForEach(server.errors, (error) => Console.log(`Error: ${error.message}`)))

  yield* Server.serve(server, (connection) => {
    const peer = Option.getOrElse(connection.remoteAddress, () => "unknown")
    return Console.log(`[${peer} connected]`).pipe(
      // Echo: the connection's bytes back into the connection; its FIN ends our side too.
      Effect.zipRight(Stream.run(connection.read, connection.sink)),
      Effect.ensuring(Console.log(`[${peer} disconnected]`))
    )
  })
})

NodeRuntime.runMain(Effect.scoped(program))
