/**
 * The demo's TLS check: a certificate generated on the spot, a TLS echo server
 * (`SocketServer` → `TlsServer` over `TcpServer`), and a client that verifies the certificate
 * and its name (`tls://localhost:PORT`: Happy Eyeballs, then `TlsConnector` trusting only that
 * certificate).
 */
import * as NodeResolver from "@effect-socket/node/NodeResolver"
import * as SocketServer from "@effect-socket/node/SocketServer"
import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as Tls from "@effect-socket/node/Tls"
import * as TlsConnector from "@effect-socket/node/TlsConnector"
import * as Connector from "@effect-socket/socket/Connector"
import * as HappyEyeballsConnector from "@effect-socket/socket/HappyEyeballsConnector"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Certificate from "../internal/certificate.js"
import type { Check } from "./Check.js"
import { MiB, serveEcho, transfer } from "./echoTransfer.js"

const tlsEcho: Check = {
  name: "TLS echo",
  run: Effect.gen(function*() {
    const { cert, key } = yield* Certificate.localhost()
    const server = yield* SocketServer.make("tls://127.0.0.1:0", { tls: { cert, key } })
    yield* serveEcho(server)
    const port = server.address.slice(server.address.lastIndexOf(":") + 1)
    const client = TlsConnector.layer({ ca: cert }).pipe(
      Layer.provide(HappyEyeballsConnector.layer()),
      Layer.provide(TcpConnector.layer),
      Layer.provide(NodeResolver.layer())
    )
    const connection = yield* Connector.connect(`tls://localhost:${port}`).pipe(Effect.provide(client))
    const session = Option.match(Tls.info(connection), { onNone: () => "not TLS", onSome: (info) => info.protocol })
    const outcome = yield* transfer(connection, 16 * MiB)
    return { ...outcome, result: `${outcome.result} over ${session}, certificate for localhost verified` }
  })
}

export const tlsChecks: ReadonlyArray<Check> = [tlsEcho]
