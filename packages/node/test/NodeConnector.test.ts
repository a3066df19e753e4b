/**
 * The NodeConnector facade, with the intent of ReactPHP's ConnectorTest (which connector each
 * option picks, checked here with doubles supplied as layers) and FunctionalConnectorTest (the
 * default stack on real loopback sockets: IP literals, `localhost`, TLS, Unix).
 */
import * as NodeConnector from "@effect-socket/node/NodeConnector"
import * as TcpServer from "@effect-socket/node/TcpServer"
import * as UnixServer from "@effect-socket/node/UnixServer"
import * as Connection from "@effect-socket/socket/Connection"
import { Connector } from "@effect-socket/socket/Connector"
import { Resolver } from "@effect-socket/socket/Resolver"
import * as Server from "@effect-socket/socket/Server"
import { ConnectError } from "@effect-socket/socket/SocketError"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Certificates from "./fixtures/certificates.js"
import * as DnsServer from "./fixtures/DnsServer.js"
import { readAll, tlsServer } from "./fixtures/helpers.js"

/** A Connector double that records the URIs it is asked for and answers with an in-memory connection (or hangs). */
const recordingConnector = (behaviour: "connect" | "hang" = "connect") => {
  const uris: Array<string> = []
  const layer = Layer.succeed(Connector, Connector.of({
    connect: (uri) =>
      Effect.sync(() => uris.push(uri)).pipe(
        Effect.zipRight(behaviour === "hang" ? Effect.never : Effect.map(Connection.makePair(), ([a]) => a))
      )
  }))
  return { uris, layer }
}

/** A Resolver double: every name is 192.0.2.1 / 2001:db8::1; records the queries. */
const recordingResolver = () => {
  const queries: Array<string> = []
  const layer = Layer.succeed(Resolver, Resolver.of({
    resolve: (host, family) =>
      Effect.sync(() => {
        queries.push(`${family === 6 ? "AAAA" : "A"} ${host}`)
        return [family === 6 ? "2001:db8::1" : "192.0.2.1"]
      })
  }))
  return { queries, layer }
}

const connectVia = <E>(layer: Layer.Layer<Connector, E>, uri: string) =>
  Effect.flatMap(Connector, (c) => c.connect(uri)).pipe(Effect.provide(layer))

const echoServer = Effect.gen(function*() {
  const server = yield* TcpServer.make(0)
  yield* Effect.forkScoped(Server.serve(server, (c) => Stream.run(c.read, c.sink)))
  return server
})

const roundTrip = (connection: Connection.Connection, text: string) =>
  Effect.zipRight(Effect.zipRight(connection.write(text), connection.end), readAll(connection))

describe("NodeConnector with doubles", () => {
  it.scoped("routes scheme-less and tcp:// URIs through DNS to the tcp connector, adding hostname=", () =>
    Effect.gen(function*() {
      const tcp = recordingConnector()
      const dns = recordingResolver()
      const layer = NodeConnector.layer({ tcp: tcp.layer, dns: dns.layer, happyEyeballs: false })
      yield* connectVia(layer, "example.test:80")
      yield* connectVia(layer, "tcp://example.test:81")
      assert.deepStrictEqual(tcp.uris, ["tcp://192.0.2.1:80?hostname=example.test", "tcp://192.0.2.1:81?hostname=example.test"])
      assert.deepStrictEqual(dns.queries, ["A example.test", "A example.test"])
    }))

  it.scoped("uses Happy Eyeballs by default: both families are queried, IPv6 tried first", () =>
    Effect.gen(function*() {
      const tcp = recordingConnector()
      const dns = recordingResolver()
      yield* connectVia(NodeConnector.layer({ tcp: tcp.layer, dns: dns.layer }), "example.test:80")
      assert.sameMembers(dns.queries, ["A example.test", "AAAA example.test"])
      assert.deepStrictEqual(tcp.uris, ["tcp://[2001:db8::1]:80?hostname=example.test"])
    }))

  it.scoped("with dns: false passes the host name to the tcp connector unresolved", () =>
    Effect.gen(function*() {
      const tcp = recordingConnector()
      yield* connectVia(NodeConnector.layer({ tcp: tcp.layer, dns: false }), "example.test:80")
      assert.deepStrictEqual(tcp.uris, ["example.test:80"])
    }))

  it.scoped("refuses a scheme that is disabled or unknown with EINVAL", () =>
    Effect.gen(function*() {
      const tcp = recordingConnector()
      const layer = NodeConnector.layer({ tcp: false, unix: false, tls: tcp.layer, dns: false })
      for (const [uri, scheme] of [["tcp://127.0.0.1:80", "tcp"], ["127.0.0.1:80", "tcp"], ["unix:///tmp/x.sock", "unix"], ["ftp://127.0.0.1:21", "ftp"]]) {
        const error = yield* Effect.flip(connectVia(layer, uri!))
        assert.instanceOf(error, ConnectError)
        assert.strictEqual(error.reason, "NoConnector")
        assert.strictEqual(error.code, "EINVAL")
        assert.strictEqual(error.message, `No connector available for URI scheme "${scheme}" (EINVAL)`)
      }
      assert.deepStrictEqual(tcp.uris, [])
    }))

  it.scoped("a tls layer given as is is used for tls:// and is handed the TCP stack it may require", () =>
    Effect.gen(function*() {
      const tcp = recordingConnector()
      const tlsUris: Array<string> = []
      const tlsOverTcp = Layer.effect(Connector, Effect.map(Connector, (inner) => Connector.of({
        connect: (uri) => Effect.zipRight(Effect.sync(() => tlsUris.push(uri)), inner.connect(uri.replace(/^tls:/, "tcp:")))
      })))
      const layer = NodeConnector.layer({ tcp: tcp.layer, tls: tlsOverTcp, dns: recordingResolver().layer, happyEyeballs: false })
      yield* connectVia(layer, "tls://example.test:443")
      assert.deepStrictEqual(tlsUris, ["tls://example.test:443"])
      assert.deepStrictEqual(tcp.uris, ["tcp://192.0.2.1:443?hostname=example.test"])
    }))

  it.scoped("times out tcp:// attempts after 60 s by default, and after the timeout given", () =>
    Effect.gen(function*() {
      for (const [timeout, seconds] of [[undefined, 60], ["3 seconds", 3]] as const) {
        const layer = NodeConnector.layer({ tcp: recordingConnector("hang").layer, dns: false, ...(timeout ? { timeout } : {}) })
        const attempt = yield* Effect.fork(connectVia(layer, "tcp://192.0.2.1:80"))
        yield* TestClock.adjust(`${seconds - 1} seconds`)
        assert.isNull(attempt.unsafePoll())
        yield* TestClock.adjust("1 second")
        const error = yield* Effect.flip(Fiber.join(attempt))
        assert.strictEqual(error.message, `Connection to tcp://192.0.2.1:80 timed out after ${seconds}.0 seconds (ETIMEDOUT)`)
      }
    }))

  it.scoped("a timeout that is not positive fails tcp:// and tls:// connects with EINVAL, asking no connector", () =>
    Effect.gen(function*() {
      for (const timeout of [0, -1, NaN]) {
        const tcp = recordingConnector("hang")
        const layer = NodeConnector.layer({ tcp: tcp.layer, dns: false, timeout })
        for (const uri of ["tcp://192.0.2.1:80", "tls://192.0.2.1:443"]) {
          const error = yield* Effect.flip(connectVia(layer, uri))
          assert.strictEqual(error.code, "EINVAL")
          assert.strictEqual(error.message, `Connection to ${uri} failed: Invalid option timeout: ${timeout}, expected a positive duration (milliseconds, or a Duration such as "5 seconds") (EINVAL)`)
        }
        assert.deepStrictEqual(tcp.uris, [])
      }
    }))

  it.effect("a malformed dns server fails to build, saying the address is invalid", () =>
    Effect.gen(function*() {
      for (const dns of ["bogus", "127.0.0.1:99999"]) {
        const error = yield* Effect.flip(Effect.scoped(Layer.build(NodeConnector.layer({ dns }))))
        assert.strictEqual(error._tag, "DnsError")
        assert.isTrue(error.message.startsWith(`Invalid DNS server address "${dns}": `), error.message)
        assert.isTrue(error.message.endsWith(" (EINVAL)"), error.message)
      }
    }))

  it.scoped("with timeout: false never times out", () =>
    Effect.gen(function*() {
      const layer = NodeConnector.layer({ tcp: recordingConnector("hang").layer, dns: false, timeout: false })
      const attempt = yield* Effect.fork(connectVia(layer, "tcp://192.0.2.1:80"))
      yield* TestClock.adjust("1 day")
      assert.isNull(attempt.unsafePoll())
      yield* Fiber.interrupt(attempt)
    }))
})

describe("NodeConnector on real sockets", () => {
  let certs: Certificates.Certificates
  let dir: string
  beforeAll(() => {
    certs = Certificates.generate()
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "node-connector-"))
  })
  afterAll(() => {
    Certificates.remove(certs)
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it.scopedLive("the default stack connects to IP literals and to localhost (no DNS server needed)", () =>
    Effect.gen(function*() {
      const server = yield* echoServer
      const port = server.address.split(":").pop()
      const layer = NodeConnector.layer()
      assert.strictEqual(yield* roundTrip(yield* connectVia(layer, server.address), "ip"), "ip")
      assert.strictEqual(yield* roundTrip(yield* connectVia(layer, `localhost:${port}`), "name"), "name")
    }))

  it.scopedLive("dns: a server address resolves names through that server", () =>
    Effect.gen(function*() {
      const server = yield* echoServer
      const port = server.address.split(":").pop()
      const dns = yield* DnsServer.make({ "echo.test": { A: { answers: ["127.0.0.1"] }, AAAA: { rcode: "NOERROR" } } })
      const connection = yield* connectVia(NodeConnector.layer({ dns: dns.address }), `echo.test:${port}`)
      assert.strictEqual(yield* roundTrip(connection, "via dns"), "via dns")
      assert.include(dns.questions, "A echo.test")
    }))

  it.scopedLive("tls:// runs TlsConnector over the TCP stack, with the tls options", () =>
    Effect.gen(function*() {
      const server = yield* tlsServer({ pem: certs.server.pem })
      yield* Effect.forkScoped(Server.serve(server, (c) => Stream.run(c.read, c.sink)))
      const port = server.address.split(":").pop()
      const connection = yield* connectVia(NodeConnector.layer({ tls: { ca: certs.ca } }), `tls://localhost:${port}`)
      assert.strictEqual(yield* roundTrip(connection, "secret"), "secret")
      // Without the test CA the default (system CAs) refuses the certificate.
      const error = yield* Effect.flip(connectVia(NodeConnector.layer(), `tls://localhost:${port}`))
      assert.include(error.message, "failed during TLS handshake")
    }))

  it.scopedLive("unix:// connects to a Unix-domain socket", () =>
    Effect.gen(function*() {
      const server = yield* UnixServer.make(`unix://${path.join(dir, "echo.sock")}`)
      yield* Effect.forkScoped(Server.serve(server, (c) => Stream.run(c.read, c.sink)))
      const connection = yield* connectVia(NodeConnector.layer(), server.address)
      assert.strictEqual(yield* roundTrip(connection, "local"), "local")
    }))
})
