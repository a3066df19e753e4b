/**
 * TlsConnector against TlsServer, with the intent of ReactPHP's SecureIntegrationTest (data
 * sent with and without ending arrives whole, in both directions), and `curl` fetching over
 * HTTPS from a small responder built on TlsServer.
 */
import * as Tls from "@effect-socket/node/Tls"
import type { Connection } from "@effect-socket/socket/Connection"
import * as Server from "@effect-socket/socket/Server"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Stream from "effect/Stream"
import * as Certificates from "./fixtures/certificates.js"
import { connectWith, readAll, readUntil, tlsConnector, tlsServer } from "./fixtures/helpers.js"
import * as Peers from "./fixtures/peers.js"

let certs: Certificates.Certificates
beforeAll(() => {
  certs = Certificates.generate()
})
afterAll(() => Certificates.remove(certs))

/** A TLS server whose accepted connections land in a queue, and a client connected to it. */
const pair = Effect.gen(function*() {
  const server = yield* tlsServer({ pem: certs.server.pem })
  const accepted = yield* Queue.unbounded<Connection>()
  yield* Effect.forkScoped(Server.serve(server, (c) => Effect.zipRight(Queue.offer(accepted, c), Effect.never)))
  const client = yield* connectWith(tlsConnector({ ca: certs.ca }), `${server.address}?hostname=localhost`)
  return { client, peer: yield* Queue.take(accepted) }
})

const big = "x".repeat(100_000)

describe("TLS end to end", () => {
  it.scoped("client to server: small data arrives in one chunk", () =>
    Effect.gen(function*() {
      const { client, peer } = yield* pair
      yield* client.write("hello")
      const first = yield* Stream.runHead(peer.read)
      assert.strictEqual(Buffer.from(Option.getOrThrow(first)).toString(), "hello")
    }))

  it.scoped("client to server: data then end arrives whole", () =>
    Effect.gen(function*() {
      const { client, peer } = yield* pair
      yield* client.write(big)
      yield* client.end
      assert.strictEqual(yield* readAll(peer), big)
    }))

  it.scoped("client to server: data without end arrives whole", () =>
    Effect.gen(function*() {
      const { client, peer } = yield* pair
      yield* client.write(`${big}!`)
      assert.strictEqual(yield* readUntil(peer, "!"), `${big}!`)
    }))

  it.scoped("server to client: small data, data then end, data without end", () =>
    Effect.gen(function*() {
      const { client, peer } = yield* pair
      yield* peer.write("hi")
      assert.strictEqual(yield* readUntil(client, "hi"), "hi")
      yield* peer.write(`${big}!`)
      assert.strictEqual(yield* readUntil(client, "!"), `${big}!`)
      yield* peer.write(big)
      yield* peer.end
      assert.strictEqual(yield* readAll(client), big)
      assert.strictEqual(Option.getOrThrow(Tls.info(peer)).protocol, "TLSv1.3")
    }))

  it.scoped("curl --cacert fetches from an HTTPS responder on TlsServer", () =>
    Effect.gen(function*() {
      const server = yield* tlsServer({ pem: certs.server.pem, alpnProtocols: ["http/1.1"] })
      const respond = (connection: Connection) =>
        Effect.gen(function*() {
          const request = yield* readUntil(connection, "\r\n\r\n")
          const path = request.split(" ")[1]
          const info = Option.getOrThrow(Tls.info(connection))
          const body = `${path} over ${info.protocol} alpn=${Option.getOrElse(info.alpnProtocol, () => "-")}\n`
          yield* connection.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)
          yield* connection.end
        })
      yield* Effect.forkScoped(Server.serve(server, respond))
      const port = server.address.split(":").pop()!
      const curl = yield* Peers.spawn("curl", [
        "--silent", "--show-error", "--noproxy", "*", "--cacert", certs.caFile,
        "--resolve", `localhost:${port}:127.0.0.1`, `https://localhost:${port}/hello`
      ])
      assert.strictEqual(yield* curl.exit, 0, curl.stderr())
      assert.strictEqual(curl.stdout(), "/hello over TLSv1.3 alpn=http/1.1\n")
    }))
})
