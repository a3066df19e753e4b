/**
 * NodeResolver and HappyEyeballsConnector against a real dnsmasq on loopback, and a dual-stack
 * name whose IPv6 address drops SYNs.
 */
import * as NodeResolver from "@effect-socket/node/NodeResolver"
import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as TcpServer from "@effect-socket/node/TcpServer"
import { Connector } from "@effect-socket/socket/Connector"
import * as HappyEyeballsConnector from "@effect-socket/socket/HappyEyeballsConnector"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as BlackHole from "./fixtures/BlackHole.js"
import * as Dnsmasq from "./fixtures/Dnsmasq.js"

const portOf = (address: string) => Number(address.slice(address.lastIndexOf(":") + 1))

/** TcpConnector, noting every URI it is asked to connect to. */
const recording = (uris: Array<string>) =>
  Layer.effect(
    Connector,
    Effect.map(Connector, (tcp) => Connector.of({ connect: (uri) => Effect.zipRight(Effect.sync(() => uris.push(uri)), tcp.connect(uri)) }))
  ).pipe(Layer.provide(TcpConnector.layer))

describe("against dnsmasq", () => {
  it.scopedLive("NodeResolver resolves host records, NXDOMAIN and missing families", () =>
    Effect.gen(function*() {
      const dnsmasq = yield* Dnsmasq.make({
        hostRecords: ["dual.test,127.0.0.1,::1", "v4.test,127.0.0.2"],
        localDomains: ["test"]
      })
      const resolver = yield* NodeResolver.make({ servers: [dnsmasq.address], hostsFile: false, timeout: "500 millis" })
      assert.deepStrictEqual(yield* resolver.resolve("dual.test", 4), ["127.0.0.1"])
      assert.deepStrictEqual(yield* resolver.resolve("dual.test", 6), ["::1"])
      assert.deepStrictEqual(yield* resolver.resolve("v4.test", 4), ["127.0.0.2"])
      const nodata = yield* Effect.flip(resolver.resolve("v4.test", 6))
      assert.strictEqual(nodata.reason, "NoData")
      const nxdomain = yield* Effect.flip(resolver.resolve("nowhere.test", 4))
      assert.strictEqual(nxdomain.reason, "NotFound")
    }))

  it.scopedLive("a dual-stack name whose IPv6 address drops SYNs connects over IPv4", () =>
    Effect.gen(function*() {
      // The IPv4 server first, then a black hole on ::1 at the same port.
      const { port, server } = yield* Effect.gen(function*() {
        const server = yield* TcpServer.make("127.0.0.1:0")
        const port = portOf(server.address)
        yield* BlackHole.make("::1", port)
        return { port, server }
      }).pipe(Effect.retry({ times: 5 }))
      const accepted = yield* Effect.fork(Stream.runHead(server.connections))
      const dnsmasq = yield* Dnsmasq.make({ hostRecords: ["dual.test,127.0.0.1,::1"], localDomains: ["test"] })
      const attempts: Array<string> = []
      const connector = yield* Effect.provide(
        Connector,
        HappyEyeballsConnector.layer().pipe(
          Layer.provide(recording(attempts)),
          Layer.provide(NodeResolver.layer({ servers: [dnsmasq.address], hostsFile: false }))
        )
      )
      const connection = yield* connector.connect(`dual.test:${port}`)
      assert.deepStrictEqual(connection.remoteAddress, Option.some(`tcp://127.0.0.1:${port}`))
      const peer = yield* accepted
      assert.isTrue(Option.isSome(peer), "the IPv4 server accepted it")
      assert.deepStrictEqual(attempts, [`tcp://[::1]:${port}?hostname=dual.test`, `tcp://127.0.0.1:${port}?hostname=dual.test`])
    }))
})
