import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as TcpServer from "@effect-socket/node/TcpServer"
import type { Connector } from "@effect-socket/socket/Connector"
import * as PlatformSocket from "@effect-socket/socket/PlatformSocket"
import * as Server from "@effect-socket/socket/Server"
import { Rpc, RpcClient, RpcGroup, RpcSerialization, RpcServer } from "@effect/rpc"
import * as Socket from "@effect/platform/Socket"
import * as SocketServer from "@effect/platform/SocketServer"
import * as NodeSocket from "@effect/platform-node/NodeSocket"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import * as Certificates from "./fixtures/certificates.js"
import { tlsConnector, tlsServer } from "./fixtures/helpers.js"

const echoServer = Effect.gen(function*() {
  const server = yield* TcpServer.make(0)
  yield* Effect.forkScoped(Server.serve(server, (c) => Stream.run(c.read, c.sink)))
  return server
})

class Greeter extends RpcGroup.make(
  Rpc.make("Greet", { payload: { name: Schema.String }, success: Schema.String }),
  Rpc.make("Fail", { payload: {}, error: Schema.String })
) {}

let certs: Certificates.Certificates
beforeAll(() => {
  certs = Certificates.generate()
})
afterAll(() => Certificates.remove(certs))

describe("PlatformSocket", () => {
  it.scopedLive("a Connection runs platform code through toSocket and Socket.toChannel", () =>
    Effect.gen(function*() {
      const server = yield* echoServer
      const connection = yield* TcpConnector.connect(server.address)
      const socket = PlatformSocket.toSocket(connection)
      const received = yield* Stream.make(new TextEncoder().encode("ping over a platform channel")).pipe(
        Stream.pipeThroughChannel(Socket.toChannel(socket)),
        Stream.decodeText(),
        Stream.take(1),
        Stream.runCollect
      )
      assert.strictEqual(Chunk.join(received, ""), "ping over a platform channel")
    }))

  it.scopedLive("a platform NodeSocket becomes a Connection with fromSocket", () =>
    Effect.gen(function*() {
      const server = yield* echoServer
      const port = Number(new URL(server.address.replace("tcp:", "http:")).port)
      const socket = yield* NodeSocket.makeNet({ host: "127.0.0.1", port })
      const connection = yield* PlatformSocket.fromSocket(socket)
      yield* connection.write("both ways")
      yield* connection.end
      const text = yield* connection.read.pipe(Stream.decodeText(), Stream.mkString)
      assert.strictEqual(text, "both ways")
    }))

  it.scopedLive("fromSocket's pull gives the bytes, then None at the end, and None again after", () =>
    Effect.gen(function*() {
      const server = yield* echoServer
      const port = Number(new URL(server.address.replace("tcp:", "http:")).port)
      const connection = yield* PlatformSocket.fromSocket(yield* NodeSocket.makeNet({ host: "127.0.0.1", port }))
      yield* connection.write("pulled")
      yield* connection.end
      let text = ""
      for (let next = yield* connection.pull; Option.isSome(next); next = yield* connection.pull) {
        text += Buffer.concat(Array.from(next.value)).toString()
      }
      assert.strictEqual(text, "pulled")
      assert.isTrue(Option.isNone(yield* connection.pull))
    }))

  /** Serves the Greeter RPCs on `server` and returns a client that reaches it through `connector`. */
  const rpcRoundTrip = (server: Server.Server, connector: Layer.Layer<Connector>, uri: string) =>
    Effect.gen(function*() {
      const handlers = Greeter.toLayer({
        Greet: ({ name }) => Effect.succeed(`hello ${name}`),
        Fail: () => Effect.fail("refused")
      })
      const serverLayer = RpcServer.layer(Greeter).pipe(
        Layer.provide(handlers),
        Layer.provide(RpcServer.layerProtocolSocketServer),
        Layer.provide(Layer.succeed(SocketServer.SocketServer, PlatformSocket.toSocketServer(server))),
        Layer.provide(RpcSerialization.layerNdjson)
      )
      yield* Effect.forkScoped(Layer.launch(serverLayer))
      const protocol = yield* Layer.build(RpcClient.layerProtocolSocket().pipe(
        Layer.provide(PlatformSocket.layerSocket(uri)),
        Layer.provide(connector),
        Layer.provide(RpcSerialization.layerNdjson)
      ))
      const client = yield* RpcClient.make(Greeter).pipe(Effect.provide(protocol))
      assert.strictEqual(yield* client.Greet({ name: "rpc" }), "hello rpc")
      assert.strictEqual(yield* Effect.flip(client.Fail({})), "refused")
    })

  it.scopedLive("an @effect/rpc round trip runs over effect-socket's TCP server and connector", () =>
    Effect.gen(function*() {
      const server = yield* TcpServer.make(0)
      yield* rpcRoundTrip(server, TcpConnector.layer, server.address)
    }))

  it.scopedLive("an @effect/rpc round trip runs over a verified TLS connection", () =>
    Effect.gen(function*() {
      const server = yield* tlsServer({ pem: certs.server.pem })
      const port = server.address.split(":").pop()
      yield* rpcRoundTrip(server, tlsConnector({ ca: certs.ca }), `tls://127.0.0.1:${port}?hostname=localhost`)
    }))
})
