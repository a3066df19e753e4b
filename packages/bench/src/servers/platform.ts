import type * as Socket from "@effect/platform/Socket"
import * as NodeSocketServer from "@effect/platform-node/NodeSocketServer"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Scope from "effect/Scope"
import { HOST } from "../protocol.js"
import type { ServerKind } from "../protocol.js"
import type { RunningServer, ServerImpl } from "./server.js"

let accepted = 0

const handlers: Record<ServerKind, (socket: Socket.Socket) => Effect.Effect<void, Socket.SocketError>> = {
  discard: (socket) => socket.run(() => {}),
  // The shape of @effect/platform's own examples: a writer, and `run` forking each write.
  echo: (socket) =>
    Effect.scoped(Effect.flatMap(socket.writer, (write) => socket.run((data) => write(data))))
}

/** `@effect/platform-node`'s `NodeSocketServer.make` and its `run(handler)`. */
export const platformServer: ServerImpl = {
  accepted: () => accepted,
  listen: async (kind, tls) => {
    if (tls !== undefined) throw new Error("@effect/platform-node has no TLS socket server")
    const scope = Effect.runSync(Scope.make())
    const server = await Effect.runPromise(
      Scope.extend(NodeSocketServer.make({ host: HOST, port: 0, noDelay: true, backlog: 511 }), scope)
    )
    const handler = handlers[kind]
    const fiber = Effect.runFork(server.run((socket) =>
      Effect.suspend(() => {
        accepted++
        return handler(socket)
      })
    ))
    if (server.address._tag !== "TcpAddress") throw new Error("expected a TCP address")
    return {
      port: server.address.port,
      close: () => Effect.runPromise(Effect.zipRight(Fiber.interrupt(fiber), Scope.close(scope, Exit.void)))
    } satisfies RunningServer
  }
}
