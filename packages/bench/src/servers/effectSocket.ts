import * as TcpServer from "@effect-socket/node/TcpServer"
import * as TlsServer from "@effect-socket/node/TlsServer"
import * as Connection from "@effect-socket/socket/Connection"
import * as Server from "@effect-socket/socket/Server"
import type { ConnectionError } from "@effect-socket/socket/SocketError"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { HOST } from "../protocol.js"
import type { ServerKind } from "../protocol.js"
import type { RunningServer, ServerImpl } from "./server.js"

let accepted = 0

const handlers: Record<ServerKind, (connection: Connection.Connection) => Effect.Effect<void, ConnectionError>> = {
  discard: (connection) => Stream.runDrain(connection.read),
  echo: (connection) => Connection.pipeTo(connection, connection)
}

/** effect-socket: `TcpServer.make` (`TlsServer.make` over it for TLS) and `Server.serve(handler)`. */
export const effectSocketServer: ServerImpl = {
  accepted: () => accepted,
  listen: async (kind, material) => {
    const scope = Effect.runSync(Scope.make())
    const tcp = TcpServer.make(`${HOST}:0`)
    const open = material === undefined
      ? tcp
      : Effect.flatMap(tcp, (server) => TlsServer.make(server, { ...material, minVersion: "TLSv1.3" }))
    const server = await Effect.runPromise(Scope.extend(open, scope))
    const handler = handlers[kind]
    const fiber = Effect.runFork(Server.serve(server, (connection) =>
      Effect.suspend(() => {
        accepted++
        return handler(connection)
      })
    ))
    return {
      port: Number(server.address.slice(server.address.lastIndexOf(":") + 1)),
      close: () => Effect.runPromise(Effect.zipRight(Fiber.interrupt(fiber), Scope.close(scope, Exit.void)))
    } satisfies RunningServer
  }
}
