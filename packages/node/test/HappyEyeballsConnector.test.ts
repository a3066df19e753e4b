/**
 * The DNS stack on real sockets: HappyEyeballsConnector and DnsConnector over NodeResolver and
 * TcpConnector, with the scriptable DNS server on loopback.
 */
import * as NodeResolver from "@effect-socket/node/NodeResolver"
import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as TcpServer from "@effect-socket/node/TcpServer"
import { Connector } from "@effect-socket/socket/Connector"
import * as DnsConnector from "@effect-socket/socket/DnsConnector"
import * as HappyEyeballsConnector from "@effect-socket/socket/HappyEyeballsConnector"
import type { ConnectError } from "@effect-socket/socket/SocketError"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as DnsServer from "./fixtures/DnsServer.js"

const portOf = (address: string) => Number(address.slice(address.lastIndexOf(":") + 1))

/** TCP servers on 127.0.0.1 and ::1 at the same port. */
const dualServers = Effect.gen(function*() {
  const v4 = yield* TcpServer.make("127.0.0.1:0")
  const port = portOf(v4.address)
  yield* TcpServer.make(`[::1]:${port}`)
  return port
}).pipe(Effect.retry({ times: 5 }))

/** A port nothing listens on (just closed), on either loopback address. */
const closedPort = Effect.scoped(Effect.map(TcpServer.make("127.0.0.1:0"), (server) => portOf(server.address)))

const happyEyeballs = (resolver: NodeResolver.Options) =>
  Effect.provide(
    Connector,
    HappyEyeballsConnector.layer().pipe(Layer.provide(TcpConnector.layer), Layer.provide(NodeResolver.layer(resolver)))
  )

const remote = (connection: { readonly remoteAddress: Option.Option<string> }) => Option.getOrThrow(connection.remoteAddress)

const SCRIPT: DnsServer.Script = {
  // A answers a little later, so that AAAA surely comes first however busy the machine is.
  "dual.test": { A: { answers: ["127.0.0.1"], delay: 100 }, AAAA: { answers: ["::1"] } },
  "late-aaaa.test": { A: { answers: ["127.0.0.1"] }, AAAA: { answers: ["::1"], delay: 400 } },
  "v4only.test": { A: { answers: ["127.0.0.1"] } },
  "silent.test": { A: { drop: true }, AAAA: { drop: true } }
}

describe("HappyEyeballsConnector over NodeResolver and TcpConnector", () => {
  it.scopedLive("connects over IPv6 when AAAA answers first", () =>
    Effect.gen(function*() {
      const dnsServer = yield* DnsServer.make(SCRIPT)
      const port = yield* dualServers
      const connector = yield* happyEyeballs({ servers: [dnsServer.address], hostsFile: false })
      const connection = yield* connector.connect(`dual.test:${port}`)
      assert.strictEqual(remote(connection), `tcp://[::1]:${port}`)
    }))

  it.scopedLive("connects over IPv4 when AAAA answers after the Resolution Delay", () =>
    Effect.gen(function*() {
      const dnsServer = yield* DnsServer.make(SCRIPT)
      const port = yield* dualServers
      const connector = yield* happyEyeballs({ servers: [dnsServer.address], hostsFile: false })
      const connection = yield* connector.connect(`late-aaaa.test:${port}`)
      assert.strictEqual(remote(connection), `tcp://127.0.0.1:${port}`)
    }))

  it.scopedLive("falls back to IPv4 at once when IPv6 is refused", () =>
    Effect.gen(function*() {
      const dnsServer = yield* DnsServer.make(SCRIPT)
      const server = yield* TcpServer.make("127.0.0.1:0")
      const connector = yield* happyEyeballs({ servers: [dnsServer.address], hostsFile: false })
      const connection = yield* connector.connect(`dual.test:${portOf(server.address)}`)
      assert.strictEqual(remote(connection), server.address)
    }))

  it.scopedLive("all refused: one error naming the last error of each family", () =>
    Effect.gen(function*() {
      const dnsServer = yield* DnsServer.make(SCRIPT)
      const port = yield* closedPort
      const connector = yield* happyEyeballs({ servers: [dnsServer.address], hostsFile: false })
      const error = yield* Effect.flip(connector.connect(`dual.test:${port}`))
      assert.strictEqual(error.code, "ECONNREFUSED")
      assert.match(
        error.message,
        new RegExp(
          `^Connection to tcp://dual\\.test:${port} failed: Last error for IPv(4|6): Connection to tcp://\\S+:${port} failed: ` +
            `Connection refused \\(ECONNREFUSED\\)\\. Previous error for IPv(4|6): Connection to tcp://\\S+:${port} failed: Connection refused \\(ECONNREFUSED\\)$`
        )
      )
      assert.include(error.message, `tcp://[::1]:${port} failed`)
      assert.include(error.message, `tcp://127.0.0.1:${port} failed`)
    }))

  it.scopedLive("connects a hosts-file name without sending an A query", () =>
    Effect.gen(function*() {
      const dnsServer = yield* DnsServer.make(SCRIPT)
      const dir = yield* Effect.acquireRelease(
        Effect.promise(() => fs.mkdtemp(path.join(os.tmpdir(), "hosts-"))),
        (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
      )
      const hostsFile = path.join(dir, "hosts")
      yield* Effect.promise(() => fs.writeFile(hostsFile, "127.0.0.1 pinned.test\n"))
      const server = yield* TcpServer.make("127.0.0.1:0")
      const connector = yield* happyEyeballs({ servers: [dnsServer.address], hostsFile })
      const connection = yield* connector.connect(`pinned.test:${portOf(server.address)}`)
      assert.strictEqual(remote(connection), server.address)
      assert.notInclude(dnsServer.questions, "A pinned.test")
    }))

  it.scopedLive("resolves localhost without DNS", () =>
    Effect.gen(function*() {
      const dnsServer = yield* DnsServer.make(SCRIPT)
      const port = yield* dualServers
      const connector = yield* happyEyeballs({ servers: [dnsServer.address], hostsFile: false })
      const connection = yield* connector.connect(`localhost:${port}`)
      assert.strictEqual(remote(connection), `tcp://[::1]:${port}`)
      assert.deepStrictEqual(dnsServer.questions, [])
    }))

  it.scopedLive("cancelled while both queries are unanswered: ECONNABORTED during DNS lookup, queries cancelled", () =>
    Effect.gen(function*() {
      const dnsServer = yield* DnsServer.make(SCRIPT)
      const connector = yield* happyEyeballs({ servers: [dnsServer.address], hostsFile: false })
      const fiber = yield* Effect.fork(connector.connect("silent.test:80"))
      while (dnsServer.questions.length < 2) yield* Effect.sleep("5 millis")
      const exit = yield* Fiber.interrupt(fiber)
      const errors: ReadonlyArray<ConnectError> = Exit.isFailure(exit) ? Chunk.toReadonlyArray(Cause.failures(exit.cause)) : []
      assert.deepStrictEqual(errors.map((e) => e.message), ["Connection to tcp://silent.test:80 cancelled during DNS lookup (ECONNABORTED)"])
      for (let i = 0; i < 100 && process.getActiveResourcesInfo().includes("QueryReqWrap"); i++) yield* Effect.sleep("10 millis")
      assert.notInclude(process.getActiveResourcesInfo(), "QueryReqWrap")
    }))
})

describe("DnsConnector over NodeResolver and TcpConnector", () => {
  const dnsConnector = (resolver: NodeResolver.Options) =>
    Effect.provide(Connector, DnsConnector.layer.pipe(Layer.provide(TcpConnector.layer), Layer.provide(NodeResolver.layer(resolver))))

  it.scopedLive("connects to the A record's address", () =>
    Effect.gen(function*() {
      const dnsServer = yield* DnsServer.make(SCRIPT)
      const server = yield* TcpServer.make("127.0.0.1:0")
      const connector = yield* dnsConnector({ servers: [dnsServer.address], hostsFile: false })
      const connection = yield* connector.connect(`v4only.test:${portOf(server.address)}`)
      assert.strictEqual(remote(connection), server.address)
      assert.deepStrictEqual(dnsServer.questions, ["A v4only.test"])
    }))

  it.scopedLive("fails during DNS lookup for an unknown name", () =>
    Effect.gen(function*() {
      const dnsServer = yield* DnsServer.make(SCRIPT)
      const connector = yield* dnsConnector({ servers: [dnsServer.address], hostsFile: false })
      const error = yield* Effect.flip(connector.connect("nowhere.test:80"))
      assert.strictEqual(
        error.message,
        "Connection to tcp://nowhere.test:80 failed during DNS lookup: DNS query for nowhere.test (A) failed: Non-Existent Domain / NXDOMAIN (ENOTFOUND)"
      )
    }))

  it.scopedLive("names the original URI when the connect is refused", () =>
    Effect.gen(function*() {
      const dnsServer = yield* DnsServer.make(SCRIPT)
      const port = yield* closedPort
      const connector = yield* dnsConnector({ servers: [dnsServer.address], hostsFile: false })
      const error = yield* Effect.flip(connector.connect(`v4only.test:${port}`))
      assert.strictEqual(
        error.message,
        `Connection to tcp://v4only.test:${port} failed: Connection to tcp://127.0.0.1:${port} failed: Connection refused (ECONNREFUSED)`
      )
    }))
})
