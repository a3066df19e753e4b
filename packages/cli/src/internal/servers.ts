/**
 * The server that `effect-socket listen` opens, chosen by the URI's scheme. This module stands
 * in for `SocketServer.make(uri, options)` until that facade exists.
 */
import type { Server } from "@effect-socket/socket/Server"
import { InvalidUriError, ListenError } from "@effect-socket/socket/SocketError"
import * as TcpServer from "@effect-socket/node/TcpServer"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { schemeOf } from "./connectors.js"

/** Listens on `uri`: `tcp://IP:port`, `IP:port` or a bare port. */
export const make = (uri: string): Effect.Effect<Server, ListenError, Scope.Scope> => {
  switch (schemeOf(uri)) {
    case "tcp":
      return TcpServer.make(uri)
    default:
      return Effect.fail(ListenError.invalidUri(new InvalidUriError({ uri, problem: "UnsupportedScheme" })))
  }
}
