/**
 * TlsServer, with the intent of ReactPHP's SecureServerTest and FunctionalSecureServerTest:
 * connections are handed out only after a complete handshake, with `tls://` addresses; every
 * way a handshake fails is one `Handshake` event on `errors` naming the client, and the server
 * keeps serving; bad credentials fail `make` at once. Real peers: `openssl s_client`.
 */
import * as NodeConnection from "@effect-socket/node/NodeConnection"
import * as SocketServer from "@effect-socket/node/SocketServer"
import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as TcpServer from "@effect-socket/node/TcpServer"
import * as Tls from "@effect-socket/node/Tls"
import * as TlsServer from "@effect-socket/node/TlsServer"
import * as Connection from "@effect-socket/socket/Connection"
import * as Server from "@effect-socket/socket/Server"
import { ServerError } from "@effect-socket/socket/SocketError"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import * as TestClock from "effect/TestClock"
import * as Certificates from "./fixtures/certificates.js"
import { collect, connectWith, readAll, readUntil, realSleep, stillRunning, tlsConnector, tlsServer } from "./fixtures/helpers.js"
import * as Peers from "./fixtures/peers.js"

let certs: Certificates.Certificates
beforeAll(() => {
  certs = Certificates.generate()
})
afterAll(() => Certificates.remove(certs))

const serverOptions = () => ({ cert: certs.server.cert, key: certs.server.key })
const trusting = () => tlsConnector({ ca: certs.ca })
const tcpAddress = (server: Server.Server) => server.address.replace("tls://", "tcp://")

/** Serves `handler` on every connection, in the test's scope. */
const serving = <E>(server: Server.Server, handler: (connection: Connection.Connection) => Effect.Effect<unknown, E>) =>
  Effect.forkScoped(Server.serve(server, handler))

const echo = (connection: Connection.Connection) => Stream.run(connection.read, connection.sink)

/** Waits for the next `Handshake` error; fails the test if none comes. */
const nextHandshakeError = (errors: Queue.Queue<ServerError>) =>
  Effect.map(Queue.take(errors), (error) => {
    assert.strictEqual(error.reason, "Handshake")
    return error
  })

describe("TlsServer", () => {
  describe("connections", () => {
    it.scoped("has a tls:// address, and both ends see tls:// addresses", () =>
      Effect.gen(function*() {
        const server = yield* tlsServer(serverOptions())
        assert.match(server.address, /^tls:\/\/127\.0\.0\.1:[1-9][0-9]*$/)
        const accepted = yield* Queue.unbounded<Connection.Connection>()
        yield* serving(server, (c) => Effect.zipRight(Queue.offer(accepted, c), Effect.never))
        const client = yield* connectWith(trusting(), server.address)
        const peer = yield* Queue.take(accepted)
        assert.deepStrictEqual(client.remoteAddress, Option.some(server.address))
        assert.deepStrictEqual(peer.localAddress, Option.some(server.address))
        assert.deepStrictEqual(peer.remoteAddress, client.localAddress)
        assert.match(Option.getOrThrow(client.localAddress), /^tls:\/\/127\.0\.0\.1:/)
        assert.isTrue(Tls.isTlsConnection(peer))
      }))

    it.scoped("carries data both ways, one small write and 400 kB in many chunks", () =>
      Effect.gen(function*() {
        const server = yield* tlsServer(serverOptions())
        yield* serving(server, echo)
        const client = yield* connectWith(trusting(), server.address)
        yield* client.write("foo")
        assert.strictEqual(yield* readUntil(client, "foo"), "foo")
        const payload = Buffer.alloc(400_000, "x")
        const received = yield* Effect.fork(Stream.run(client.read, Sink.sum.pipe(Sink.mapInput((c: Uint8Array) => c.length))))
        for (let offset = 0; offset < payload.length; offset += 10_000) {
          yield* client.write(payload.subarray(offset, offset + 10_000))
        }
        yield* client.end
        assert.strictEqual(yield* Fiber.join(received), 400_000)
      }))

    it.scoped("writes 2 MB to a client, which half-closes first", () =>
      Effect.gen(function*() {
        const server = yield* tlsServer(serverOptions())
        const payload = Buffer.alloc(2_000_000, "y")
        yield* serving(server, (c) => Effect.zipRight(Stream.runDrain(c.read), Stream.run(Stream.make(payload), c.sink)))
        const client = yield* connectWith(trusting(), server.address)
        yield* client.end
        assert.strictEqual((yield* readAll(client)).length, 2_000_000)
      }))

    it.scoped("serves with an encrypted key and its passphrase, and with a PEM bundle", () =>
      Effect.gen(function*() {
        for (const options of [
          { cert: certs.encrypted.cert, key: certs.encrypted.key, passphrase: certs.encrypted.passphrase },
          { pem: certs.server.pem }
        ]) {
          const server = yield* tlsServer(options)
          yield* serving(server, (c) => Effect.zipRight(c.write("hello"), c.end))
          const client = yield* connectWith(trusting(), server.address)
          assert.strictEqual(yield* readAll(client), "hello")
        }
      }))

    it.scoped("negotiates ALPN and reports the version", () =>
      Effect.gen(function*() {
        const server = yield* tlsServer({ ...serverOptions(), alpnProtocols: ["http/1.1"] })
        const accepted = yield* Queue.unbounded<Connection.Connection>()
        yield* serving(server, (c) => Effect.zipRight(Queue.offer(accepted, c), Effect.never))
        const client = yield* connectWith(tlsConnector({ ca: certs.ca, alpnProtocols: ["h2", "http/1.1"] }), server.address)
        const info = Option.getOrThrow(Tls.info(client))
        assert.deepStrictEqual(info.alpnProtocol, Option.some("http/1.1"))
        assert.strictEqual(info.protocol, "TLSv1.3")
        const peer = Option.getOrThrow(Tls.info(yield* Queue.take(accepted)))
        assert.deepStrictEqual(peer.alpnProtocol, Option.some("http/1.1"))
        assert.deepStrictEqual(peer.peerCertificate, Option.none())
      }))

    it.scoped("NodeConnection.socketOf gives the TLS socket", () =>
      Effect.gen(function*() {
        const server = yield* tlsServer(serverOptions())
        const accepted = yield* Queue.unbounded<Connection.Connection>()
        yield* serving(server, (c) => Effect.zipRight(Queue.offer(accepted, c), Effect.never))
        yield* connectWith(trusting(), server.address)
        const socket = NodeConnection.socketOf(yield* Queue.take(accepted))
        assert.isTrue(socket !== undefined && "encrypted" in socket)
      }))
  })

  describe("bad credentials or options fail make at once", () => {
    const NEEDS_KEY = "A TLS server needs a certificate and its private key (`pem`, or `cert` and `key`)"
    const cases: ReadonlyArray<{
      readonly name: string
      readonly options: () => TlsServer.Options
      readonly code: string
      readonly detail?: string
    }> = [
      { name: "a certificate that is not PEM", options: () => ({ cert: "not a certificate", key: certs.server.key }), code: "ERR_OSSL_PEM_NO_START_LINE" },
      { name: "an encrypted key without passphrase", options: () => ({ cert: certs.encrypted.cert, key: certs.encrypted.key }), code: "ERR_OSSL_BAD_DECRYPT" },
      { name: "a wrong passphrase", options: () => ({ cert: certs.encrypted.cert, key: certs.encrypted.key, passphrase: "wrong" }), code: "ERR_OSSL_BAD_DECRYPT" },
      { name: "a key of another certificate", options: () => ({ cert: certs.server.cert, key: certs.client.key }), code: "ERR_OSSL_X509_KEY_VALUES_MISMATCH" },
      { name: "no key", options: () => ({ cert: certs.server.cert }), code: "EINVAL", detail: NEEDS_KEY },
      { name: "a PEM bundle with the certificate and no key", options: () => ({ pem: certs.server.cert }), code: "EINVAL", detail: NEEDS_KEY },
      { name: "a PEM bundle with the key and no certificate", options: () => ({ pem: certs.server.key }), code: "EINVAL", detail: NEEDS_KEY },
      { name: "an empty PEM bundle", options: () => ({ pem: "" }), code: "EINVAL", detail: NEEDS_KEY },
      {
        name: "a negative handshake timeout",
        options: () => ({ ...serverOptions(), handshakeTimeout: -1 }),
        code: "EINVAL",
        detail: `Invalid option handshakeTimeout: -1, expected a positive duration (milliseconds, or a Duration such as "5 seconds")`
      },
      {
        name: "a NaN handshake timeout",
        options: () => ({ ...serverOptions(), handshakeTimeout: "NaN seconds" }),
        code: "EINVAL",
        detail: `Invalid option handshakeTimeout: "NaN seconds", expected a positive duration (milliseconds, or a Duration such as "5 seconds")`
      },
      {
        name: "no handshake slot",
        options: () => ({ ...serverOptions(), maxConcurrentHandshakes: 0 }),
        code: "EINVAL",
        detail: "Invalid option maxConcurrentHandshakes: 0, expected an integer from 1 to 2147483647"
      },
      { name: "a bad SNI certificate", options: () => ({ ...serverOptions(), serverNames: { "other.test": { cert: certs.other.cert } } }), code: "EINVAL" }
    ]
    for (const { code, detail, name, options } of cases) {
      it.scoped(name, () =>
        Effect.gen(function*() {
          const server = yield* TcpServer.make("127.0.0.1:0")
          const error = yield* Effect.flip(TlsServer.make(server, options()))
          assert.strictEqual(error._tag, "ListenError")
          assert.strictEqual(error.reason, "Tls")
          assert.strictEqual(error.code, code)
          assert.strictEqual(error.uri, server.address.replace("tcp://", "tls://"))
          assert.match(error.message, new RegExp(`^Failed to listen on "tls://127\\.0\\.0\\.1:\\d+": .+ \\(${code}\\)$`))
          if (detail !== undefined) assert.strictEqual(error.detail, detail)
        }))
    }
  })

  describe("failed handshakes are reported and the server keeps serving", () => {
    it.scoped("a plaintext HTTP request", () =>
      Effect.gen(function*() {
        const server = yield* tlsServer(serverOptions())
        const errors = yield* collect(server.errors)
        yield* serving(server, (c) => Effect.zipRight(c.write("ok"), c.end))
        const plain = yield* connectWith(TcpConnector.layer, tcpAddress(server))
        yield* plain.write("GET / HTTP/1.0\r\n\r\n")
        const error = yield* nextHandshakeError(errors)
        assert.strictEqual(error.code, "ERR_SSL_HTTP_REQUEST")
        assert.deepStrictEqual(error.remoteAddress, plain.localAddress)
        assert.strictEqual(
          error.message,
          `Connection from ${Option.getOrThrow(plain.localAddress)} failed during TLS handshake on ${server.address}: Http request (ERR_SSL_HTTP_REQUEST)`
        )
        // The server closed that socket: the client reads the end of the stream (or a reset).
        yield* Effect.either(readAll(plain))
        const client = yield* connectWith(trusting(), server.address)
        assert.strictEqual(yield* readAll(client), "ok")
      }))

    it.scoped("an unknown protocol", () =>
      Effect.gen(function*() {
        const server = yield* tlsServer(serverOptions())
        const errors = yield* collect(server.errors)
        yield* serving(server, echo)
        const plain = yield* connectWith(TcpConnector.layer, tcpAddress(server))
        yield* plain.write("HELLO this is not TLS\r\n")
        const error = yield* nextHandshakeError(errors)
        assert.match(error.code, /^ERR_SSL_/)
        assert.deepStrictEqual(error.remoteAddress, plain.localAddress)
      }))

    it.scoped("a client that closes before the handshake", () =>
      Effect.gen(function*() {
        const server = yield* tlsServer(serverOptions())
        const errors = yield* collect(server.errors)
        yield* serving(server, echo)
        const plain = yield* connectWith(TcpConnector.layer, tcpAddress(server))
        const from = Option.getOrThrow(plain.localAddress)
        yield* plain.close
        const error = yield* nextHandshakeError(errors)
        assert.strictEqual(
          error.message,
          `Connection from ${from} failed during TLS handshake on ${server.address}: Connection lost during TLS handshake (ECONNRESET)`
        )
      }))

    it.scoped("a client that half-closes in the middle of its hello", () =>
      Effect.gen(function*() {
        const server = yield* tlsServer(serverOptions())
        const errors = yield* collect(server.errors)
        yield* serving(server, echo)
        const plain = yield* connectWith(TcpConnector.layer, tcpAddress(server))
        // A TLS record header announcing a 512-byte handshake record, then only 3 bytes of it.
        yield* plain.write(new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01]))
        yield* plain.end
        const error = yield* nextHandshakeError(errors)
        assert.strictEqual(error.code, "ECONNRESET")
        assert.deepStrictEqual(error.remoteAddress, plain.localAddress)
      }))

    it.scoped("a TLS version the server does not accept", () =>
      Effect.gen(function*() {
        const server = yield* tlsServer({ ...serverOptions(), minVersion: "TLSv1.3" })
        const errors = yield* collect(server.errors)
        yield* serving(server, echo)
        const failure = yield* Effect.flip(connectWith(tlsConnector({ ca: certs.ca, maxVersion: "TLSv1.2" }), server.address))
        assert.strictEqual(failure.stage, "TLS handshake")
        assert.strictEqual(failure.code, "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION")
        const error = yield* nextHandshakeError(errors)
        assert.strictEqual(error.code, "ERR_SSL_UNSUPPORTED_PROTOCOL")
      }))

    it.scoped("a client certificate from an unknown CA, or none, when one is required", () =>
      Effect.gen(function*() {
        const server = yield* tlsServer({ ...serverOptions(), requestCert: true, ca: certs.ca })
        const errors = yield* collect(server.errors)
        const accepted = yield* Queue.unbounded<Connection.Connection>()
        yield* serving(server, (c) => Effect.all([Queue.offer(accepted, c), c.write("welcome"), c.end]))

        yield* Effect.scoped(Effect.either(Effect.flatMap(connectWith(trusting(), server.address), readAll)))
        assert.strictEqual((yield* nextHandshakeError(errors)).code, "ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE")

        const untrusted = tlsConnector({ ca: certs.ca, cert: certs.untrustedClient.cert, key: certs.untrustedClient.key })
        yield* Effect.scoped(Effect.either(Effect.flatMap(connectWith(untrusted, server.address), readAll)))
        const error = yield* nextHandshakeError(errors)
        assert.strictEqual(error.code, "UNABLE_TO_VERIFY_LEAF_SIGNATURE")
        assert.match(error.message, /Unable to verify the first certificate \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)$/)

        const trusted = tlsConnector({ ca: certs.ca, pem: certs.client.pem })
        const client = yield* connectWith(trusted, server.address)
        assert.strictEqual(yield* readUntil(client, "welcome"), "welcome")
        const peer = Option.getOrThrow(Tls.info(yield* Queue.take(accepted)))
        assert.strictEqual(Option.getOrThrow(peer.peerCertificate).subject.CN, "client.test")
        assert.isTrue(yield* Queue.isEmpty(errors))
      }))
  })

  describe("handshake timeout and concurrency", () => {
    /** Waits (in real time) until `count` handshake timers are pending on the TestClock. */
    const timersStarted = (count: number) =>
      Effect.gen(function*() {
        while ((yield* TestClock.sleeps()).length < count) yield* realSleep(5)
      })

    it.scoped("a client that says nothing is dropped after 10 s, measured on the Clock", () =>
      Effect.gen(function*() {
        const server = yield* tlsServer(serverOptions())
        const errors = yield* collect(server.errors)
        yield* serving(server, echo)
        const silent = yield* connectWith(TcpConnector.layer, tcpAddress(server))
        yield* timersStarted(1)
        yield* TestClock.adjust("9999 millis")
        yield* realSleep(20)
        assert.isTrue(yield* Queue.isEmpty(errors))
        yield* TestClock.adjust("1 millis")
        const error = yield* nextHandshakeError(errors)
        assert.strictEqual(error.code, "ETIMEDOUT")
        assert.deepStrictEqual(error.remoteAddress, silent.localAddress)
        assert.match(error.message, /: TLS handshake timed out after 10s \(ETIMEDOUT\)$/)
        // The socket was closed, not just reported (Node's own handshakeTimeout only reports).
        assert.strictEqual(yield* readAll(silent), "")
      }))

    it.scoped("a slow client does not delay another one's handshake", () =>
      Effect.gen(function*() {
        const server = yield* tlsServer(serverOptions())
        yield* serving(server, (c) => Effect.zipRight(c.write("fast"), c.end))
        yield* connectWith(TcpConnector.layer, tcpAddress(server))
        yield* timersStarted(1)
        const client = yield* connectWith(trusting(), server.address)
        assert.strictEqual(yield* readAll(client), "fast")
      }))

    it.scoped("handshakes in flight are bounded: past the bound, clients wait", () =>
      Effect.gen(function*() {
        const server = yield* tlsServer({ ...serverOptions(), maxConcurrentHandshakes: 1 })
        const errors = yield* collect(server.errors)
        yield* serving(server, (c) => Effect.zipRight(c.write("served"), c.end))
        yield* connectWith(TcpConnector.layer, tcpAddress(server))
        yield* timersStarted(1)
        const waiting = yield* Effect.fork(Effect.scoped(Effect.flatMap(connectWith(trusting(), server.address), readAll)))
        assert.isTrue(yield* stillRunning(waiting))
        assert.strictEqual((yield* TestClock.sleeps()).length, 1)
        yield* TestClock.adjust("10 seconds")
        assert.strictEqual((yield* nextHandshakeError(errors)).code, "ETIMEDOUT")
        assert.strictEqual(yield* Fiber.join(waiting), "served")
      }))

    it.scoped("closing the server's scope closes a connection in its handshake", () =>
      Effect.gen(function*() {
        const silent = yield* Effect.scoped(
          Effect.gen(function*() {
            const server = yield* tlsServer(serverOptions())
            yield* serving(server, echo)
            const silent = yield* connectWith(TcpConnector.layer, tcpAddress(server))
            yield* timersStarted(1)
            return silent
          })
        )
        assert.strictEqual(yield* readAll(silent), "")
      }))
  })

  describe("wrapping other servers", () => {
    const fakeServer = (address: string, connections: ReadonlyArray<Connection.Connection>, errors: ReadonlyArray<ServerError>): Server.Server => ({
      [Server.TypeId]: Server.TypeId,
      address,
      connections: Stream.fromIterable(connections),
      errors: Stream.fromIterable(errors)
    })

    it.scoped("keeps a unix:// address, forwards the wrapped server's errors", () =>
      Effect.gen(function*() {
        const inner = new ServerError({ reason: "Accept", address: "unix:///tmp/x.sock", remoteAddress: Option.none(), code: "EMFILE" })
        const server = yield* TlsServer.make(fakeServer("unix:///tmp/x.sock", [], [inner]), serverOptions())
        assert.strictEqual(server.address, "unix:///tmp/x.sock")
        const errors = yield* Stream.runCollect(Stream.take(server.errors, 1))
        assert.deepStrictEqual([...errors], [inner])
      }))

    it.scoped("closes a connection that is not over a Node socket, with an EINVAL handshake error", () =>
      Effect.gen(function*() {
        const [memory] = yield* Connection.makePair({ localAddress: "memory://local", remoteAddress: "memory://peer" })
        const server = yield* TlsServer.make(fakeServer("tcp://127.0.0.1:1", [memory], []), serverOptions())
        const errors = yield* collect(server.errors)
        assert.strictEqual((yield* Stream.runCollect(server.connections)).length, 0)
        const error = yield* nextHandshakeError(errors)
        assert.strictEqual(error.code, "EINVAL")
        assert.strictEqual(error.address, "tls://127.0.0.1:1")
        assert.deepStrictEqual(error.remoteAddress, Option.some("memory://peer"))
        yield* memory.closed
      }))
  })

  describe("SocketServer facade", () => {
    it.scoped("dispatches tls:// to TlsServer over TcpServer, with the tls and tcp groups", () =>
      Effect.gen(function*() {
        const server = yield* SocketServer.make("tls://127.0.0.1:0", { tls: { pem: certs.server.pem }, tcp: { backlog: 8 } })
        assert.match(server.address, /^tls:\/\/127\.0\.0\.1:[1-9][0-9]*$/)
        yield* serving(server, (c) => Effect.zipRight(c.write("facade"), c.end))
        const client = yield* connectWith(trusting(), server.address)
        assert.strictEqual(yield* readAll(client), "facade")
      }))

    it.scoped("fails without a certificate before anything listens", () =>
      Effect.gen(function*() {
        const before = process.getActiveResourcesInfo().filter((r) => r === "TCPServerWrap").length
        const error = yield* Effect.flip(SocketServer.make("tls://127.0.0.1:0", { tls: { pem: certs.encrypted.pem } }))
        assert.strictEqual(error.reason, "Tls")
        assert.strictEqual(error.code, "ERR_OSSL_BAD_DECRYPT")
        assert.strictEqual(error.message, `Failed to listen on "tls://127.0.0.1:0": Bad decrypt (ERR_OSSL_BAD_DECRYPT)`)
        assert.strictEqual((yield* Effect.flip(SocketServer.make("tls://127.0.0.1:0"))).code, "EINVAL")
        assert.strictEqual(process.getActiveResourcesInfo().filter((r) => r === "TCPServerWrap").length, before)
      }))
  })

  describe("openssl s_client", () => {
    /** Serves one line: answers with what the handshake negotiated, then closes. */
    const describeHandshake = (server: Server.Server) =>
      serving(server, (c) =>
        Effect.gen(function*() {
          const line = yield* readUntil(c, "\n")
          const info = Option.getOrThrow(Tls.info(c))
          const peer = Option.match(info.peerCertificate, { onNone: () => "-", onSome: (cert) => cert.subject.CN })
          yield* c.write(`${line.trim()} ${info.protocol} sni=${Option.getOrElse(info.serverName, () => "-")} peer=${peer}\n`)
          yield* c.end
        }))

    const sClient = (server: Server.Server, args: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const port = server.address.split(":").pop()!
        const peer = yield* Peers.spawn("openssl", [
          "s_client", "-connect", `127.0.0.1:${port}`, "-CAfile", certs.caFile, "-verify_return_error", "-ign_eof", ...args
        ], { stdin: "ping\n" })
        const code = yield* peer.exit
        return { code, stdout: peer.stdout(), stderr: peer.stderr() }
      })

    it.scoped("TLS 1.2 and TLS 1.3, with and without SNI", () =>
      Effect.gen(function*() {
        const server = yield* tlsServer({ ...serverOptions(), serverNames: { "Other.Test": { pem: certs.other.pem }, "*.other.test": { pem: certs.other.pem } } })
        yield* describeHandshake(server)
        const tls12 = yield* sClient(server, ["-tls1_2", "-servername", "localhost"])
        assert.strictEqual(tls12.code, 0, tls12.stderr)
        assert.include(tls12.stdout, "ping TLSv1.2 sni=localhost peer=-")
        assert.include(tls12.stdout, "subject=CN = localhost")

        const tls13 = yield* sClient(server, ["-tls1_3", "-noservername"])
        assert.strictEqual(tls13.code, 0, tls13.stderr)
        assert.include(tls13.stdout, "ping TLSv1.3 sni=- peer=-")

        const other = yield* sClient(server, ["-servername", "other.test", "-verify_hostname", "other.test"])
        assert.strictEqual(other.code, 0, other.stderr)
        assert.include(other.stdout, "subject=CN = other.test")
        assert.include(other.stdout, "ping TLSv1.3 sni=other.test peer=-")

        // One wildcard label matches; two do not, and the default certificate is served.
        const wildcard = yield* sClient(server, ["-servername", "WWW.other.test"])
        assert.strictEqual(wildcard.code, 0, wildcard.stderr)
        assert.include(wildcard.stdout, "subject=CN = other.test")
        const deeper = yield* sClient(server, ["-servername", "a.b.other.test"])
        assert.include(deeper.stdout, "subject=CN = localhost")
      }))

    it.scoped("TLS 1.1 is refused by default: one Handshake error, and the server keeps serving", () =>
      Effect.gen(function*() {
        const server = yield* tlsServer(serverOptions())
        const errors = yield* collect(server.errors)
        yield* describeHandshake(server)
        // SECLEVEL=0 lets OpenSSL 3 offer TLS 1.1 at all.
        const old = yield* sClient(server, ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"])
        assert.notStrictEqual(old.code, 0)
        const error = yield* nextHandshakeError(errors)
        assert.strictEqual(error.code, "ERR_SSL_UNSUPPORTED_PROTOCOL")
        assert.match(error.message, /^Connection from tcp:\/\/127\.0\.0\.1:\d+ failed during TLS handshake on tls:\/\/127\.0\.0\.1:\d+: Unsupported protocol \(ERR_SSL_UNSUPPORTED_PROTOCOL\)$/)
        const again = yield* sClient(server, [])
        assert.include(again.stdout, "ping TLSv1.3")
      }))

    it.scoped("with a client certificate", () =>
      Effect.gen(function*() {
        const server = yield* tlsServer({ ...serverOptions(), requestCert: true, ca: certs.ca })
        yield* describeHandshake(server)
        const result = yield* sClient(server, ["-cert", certs.client.certFile, "-key", certs.client.keyFile])
        assert.strictEqual(result.code, 0, result.stderr)
        assert.include(result.stdout, "ping TLSv1.3 sni=- peer=client.test")
      }))

    it.scoped("ALPN", () =>
      Effect.gen(function*() {
        const server = yield* tlsServer({ ...serverOptions(), alpnProtocols: ["h2", "http/1.1"] })
        yield* describeHandshake(server)
        const result = yield* sClient(server, ["-alpn", "http/1.1,h2"])
        assert.strictEqual(result.code, 0, result.stderr)
        assert.include(result.stdout, "ALPN protocol: h2")
      }))
  })
})

