/**
 * Start this server and send it data: it counts the bytes each connection sends and, when the
 * connection closes, prints how many arrived and at what rate.
 *
 *   $ node packages/examples/dist/91-benchmark-server.js 127.0.0.1:8000
 *   $ dd if=/dev/zero bs=1M count=1000 | effect-socket connect 127.0.0.1:8000
 *
 * You can also run a secure TLS server, with a certificate and key in one PEM file (see
 * 99-generate-self-signed):
 *
 *   $ node packages/examples/dist/91-benchmark-server.js tls://127.0.0.1:8000 localhost.pem
 *   $ dd if=/dev/zero bs=1M count=1000 | effect-socket connect --insecure tls://127.0.0.1:8000
 *
 * You can also run it on a Unix domain socket, or on a listening socket it inherits as fd 3
 * (systemd socket activation):
 *
 *   $ node packages/examples/dist/91-benchmark-server.js unix:///tmp/server.sock
 *   $ dd if=/dev/zero bs=1M count=1000 | effect-socket connect unix:///tmp/server.sock
 *   $ systemd-socket-activate -l 8000 node packages/examples/dist/91-benchmark-server.js fd://3
 *
 * The Effect version of ReactPHP socket's examples/91-benchmark-server.php.
 */
import { SocketServer } from "@effect-socket/node"
import { Server } from "@effect-socket/socket"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Option, Stream } from "effect"
import * as fs from "node:fs"

// For tls:// URIs: the PEM file with the certificate and its key.
const tls = process.argv[3] === undefined ? {} : { pem: fs.readFileSync(process.argv[3]) }

const program = Effect.gen(function*() {
  const server = yield* SocketServer.make(process.argv[2] ?? "127.0.0.1:0", { tls })
  yield* Console.log(`Listening on ${server.address}`)

  yield* Server.serve(server, (connection) =>
    Effect.gen(function*() {
      const peer = Option.getOrElse(connection.remoteAddress, () => "unknown")
      yield* Console.log(`[${peer} connected]`)
      const start = performance.now()
      const bytes = yield* Stream.runFold(connection.read, 0, (total, chunk) => total + chunk.length)
      const seconds = (performance.now() - start) / 1000
      const rate = bytes / seconds / 1024 / 1024
      yield* Console.log(
        `[${peer} disconnected after receiving ${bytes} bytes in ${seconds.toFixed(3)}s => ${rate.toFixed(1)} MiB/s]`
      )
    }))
})

NodeRuntime.runMain(Effect.scoped(program))
