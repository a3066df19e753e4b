import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as TcpServer from "@effect-socket/node/TcpServer"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type { Check } from "./Check.js"
import { MiB, serveEcho, transfer } from "./echoTransfer.js"

/** Echo over TCP on one loopback address: an echo server on port 0, a client, 64 MiB through. */
const tcpEcho = (host: string, family: string): Check => ({
  name: `TCP ${family} echo`,
  run: Effect.gen(function*() {
    const server = yield* TcpServer.make(`${host}:0`)
    yield* serveEcho(server)
    const connection = yield* TcpConnector.connect(server.address)
    const remote = Option.getOrElse(connection.remoteAddress, () => "?")
    const outcome = yield* transfer(connection, 64 * MiB)
    return { ...outcome, result: `${outcome.result} with ${remote}` }
  })
})

export const tcpChecks: ReadonlyArray<Check> = [tcpEcho("127.0.0.1", "IPv4"), tcpEcho("[::1]", "IPv6")]
