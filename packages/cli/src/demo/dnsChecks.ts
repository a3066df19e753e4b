/**
 * The demo's name-resolution checks: `localhost:PORT` through `HappyEyeballsConnector` over
 * `NodeResolver` (which answers `localhost` with ::1 and 127.0.0.1, RFC 6761) and
 * `TcpConnector`. IPv6 is tried first (RFC 8305 §4); when nothing listens there, IPv4 wins.
 */
import * as NodeResolver from "@effect-socket/node/NodeResolver"
import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as TcpServer from "@effect-socket/node/TcpServer"
import * as Connector from "@effect-socket/socket/Connector"
import * as HappyEyeballsConnector from "@effect-socket/socket/HappyEyeballsConnector"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type { Check } from "./Check.js"
import { serveEcho, transfer } from "./echoTransfer.js"

const HappyEyeballs = HappyEyeballsConnector.layer().pipe(
  Layer.provide(TcpConnector.layer),
  Layer.provide(NodeResolver.layer())
)

/** An echo server on `host`; then `localhost` on its port, which must reach `expected`'s family. */
const toLocalhost = (name: string, host: string, expected: string): Check => ({
  name,
  run: Effect.gen(function*() {
    const server = yield* TcpServer.make(`${host}:0`)
    yield* serveEcho(server)
    const port = server.address.slice(server.address.lastIndexOf(":") + 1)
    const start = performance.now()
    const connection = yield* Connector.connect(`localhost:${port}`)
    const elapsed = performance.now() - start
    const remote = Option.getOrElse(connection.remoteAddress, () => "?")
    if (remote !== server.address) return yield* Effect.fail(new Error(`reached ${remote}, not ${server.address}`))
    yield* transfer(connection, 1024 * 1024)
    return { result: `localhost:${port} → ${remote} (${expected})`, speed: `${elapsed.toFixed(1)} ms` }
  }).pipe(Effect.provide(HappyEyeballs))
})

export const dnsChecks: ReadonlyArray<Check> = [
  toLocalhost("Happy Eyeballs IPv6", "[::1]", "IPv6 first"),
  toLocalhost("Happy Eyeballs fallback", "127.0.0.1", "::1 refused, IPv4 won")
]
