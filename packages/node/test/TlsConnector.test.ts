/**
 * TlsConnector, with the intent of ReactPHP's SecureConnectorTest: the URI reaches the inner
 * connector with only its scheme changed, its errors come back under the `tls://` URI,
 * handshake failures are typed with Node's or OpenSSL's code, and interruption closes the
 * socket. Real peers: `openssl s_server` with certificates of the suite's test CA.
 */
import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as TcpServer from "@effect-socket/node/TcpServer"
import * as Tls from "@effect-socket/node/Tls"
import * as TlsConnector from "@effect-socket/node/TlsConnector"
import * as Connection from "@effect-socket/socket/Connection"
import { Connector } from "@effect-socket/socket/Connector"
import * as DnsConnector from "@effect-socket/socket/DnsConnector"
import { Resolver } from "@effect-socket/socket/Resolver"
import { ConnectError, DnsError } from "@effect-socket/socket/SocketError"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as Certificates from "./fixtures/certificates.js"
import { connectWith, readAll, tlsConnector } from "./fixtures/helpers.js"
import * as Peers from "./fixtures/peers.js"

let certs: Certificates.Certificates
beforeAll(() => {
  certs = Certificates.generate()
})
afterAll(() => Certificates.remove(certs))

/** An inner connector that records the URIs it is asked for and answers with `answer`. */
const innerDouble = (answer: (uri: string) => Effect.Effect<Connection.Connection, ConnectError>) => {
  const asked: Array<string> = []
  const layer = Layer.succeed(Connector, Connector.of({ connect: (uri) => Effect.suspend(() => (asked.push(uri), answer(uri))) }))
  return { asked, layer }
}

const refused = (uri: string) =>
  Effect.fail(new ConnectError({ reason: "Failed", uri, code: "ECONNREFUSED", detail: "Connection refused", stage: "TCP/IP handshake" }))

const withInner = (inner: Layer.Layer<Connector>, options: TlsConnector.Options = {}) =>
  Layer.provide(TlsConnector.layer(options), inner)

describe("TlsConnector", () => {
  describe("URIs and the inner connector", () => {
    it.scoped("passes the URI on with tcp:// instead of tls://, path and query kept", () =>
      Effect.gen(function*() {
        const inner = innerDouble(refused)
        yield* Effect.either(connectWith(withInner(inner.layer), "tls://example.com:443/path?hostname=example.org"))
        yield* Effect.either(connectWith(withInner(inner.layer), "example.com:443"))
        assert.deepStrictEqual(inner.asked, ["tcp://example.com:443/path?hostname=example.org", "tcp://example.com:443"])
      }))

    it.scoped("renames the inner connector's error after the tls:// URI, keeping it as cause", () =>
      Effect.gen(function*() {
        const inner = innerDouble(refused)
        const error = yield* Effect.flip(connectWith(withInner(inner.layer), "example.com:80"))
        assert.strictEqual(error.message, "Connection to tls://example.com:80 failed: Connection refused (ECONNREFUSED)")
        assert.strictEqual(error.code, "ECONNREFUSED")
        assert.instanceOf(error.cause, ConnectError)
        assert.strictEqual((error.cause as ConnectError).uri, "tcp://example.com:80")
      }))

    it.scoped("refuses another scheme before any I/O", () =>
      Effect.gen(function*() {
        const inner = innerDouble(refused)
        const error = yield* Effect.flip(connectWith(withInner(inner.layer), "tcp://example.com:80"))
        assert.strictEqual(error.reason, "InvalidUri")
        assert.strictEqual(error.message, `Given URI "tcp://example.com:80" has an unsupported scheme (EINVAL)`)
        assert.deepStrictEqual(inner.asked, [])
      }))

    it.scoped("fails before any I/O when the client certificate is unusable", () =>
      Effect.gen(function*() {
        const inner = innerDouble(refused)
        const layer = withInner(inner.layer, { cert: certs.encrypted.cert, key: certs.encrypted.key, passphrase: "wrong" })
        const error = yield* Effect.flip(connectWith(layer, "tls://example.com:443"))
        assert.strictEqual(error.code, "ERR_OSSL_BAD_DECRYPT")
        assert.strictEqual(error.message, "Connection to tls://example.com:443 failed during TLS handshake: Bad decrypt (ERR_OSSL_BAD_DECRYPT)")
        assert.deepStrictEqual(inner.asked, [])
      }))

    it.scoped("a handshake timeout that is not positive fails before any I/O", () =>
      Effect.gen(function*() {
        const inner = innerDouble(refused)
        for (const handshakeTimeout of [0, -1, NaN]) {
          const error = yield* Effect.flip(connectWith(withInner(inner.layer, { handshakeTimeout }), "tls://example.com:443"))
          assert.strictEqual(error.code, "EINVAL")
          assert.strictEqual(
            error.message,
            `Connection to tls://example.com:443 failed during TLS handshake: Invalid option handshakeTimeout: ${handshakeTimeout}, expected a positive duration (milliseconds, or a Duration such as "5 seconds") (EINVAL)`
          )
        }
        assert.deepStrictEqual(inner.asked, [])
      }))

    it.scoped("a client PEM bundle must hold both the certificate and its key", () =>
      Effect.gen(function*() {
        const inner = innerDouble(refused)
        for (const pem of [certs.client.cert, certs.client.key, ""]) {
          const error = yield* Effect.flip(connectWith(withInner(inner.layer, { pem }), "tls://example.com:443"))
          assert.strictEqual(error.code, "EINVAL")
          assert.strictEqual(
            error.message,
            "Connection to tls://example.com:443 failed during TLS handshake: A certificate needs its private key, and a key its certificate (EINVAL)"
          )
        }
        assert.deepStrictEqual(inner.asked, [])
      }))

    it.scoped("closes a connection that is not over a Node socket, with EINVAL", () =>
      Effect.gen(function*() {
        const [memory] = yield* Connection.makePair()
        const inner = innerDouble(() => Effect.succeed(memory))
        const error = yield* Effect.flip(connectWith(withInner(inner.layer), "tls://example.com:443"))
        assert.strictEqual(error.message, "Connection to tls://example.com:443 failed during TLS handshake: Connection is not backed by a Node socket (EINVAL)")
        yield* memory.closed
      }))

    it.scoped("interrupting during the handshake closes the socket", () =>
      Effect.gen(function*() {
        // A plain TCP server that reads the client hello and never answers.
        const server = yield* TcpServer.make("127.0.0.1:0")
        const attempt = yield* Effect.fork(connectWith(tlsConnector({ ca: certs.ca }), server.address.replace("tcp://", "tls://")))
        const peer = yield* Effect.flatMap(Stream.runHead(server.connections), Option.match({ onNone: () => Effect.dieMessage("no connection"), onSome: Effect.succeed }))
        const pull = yield* Stream.toPull(peer.read)
        const hello = yield* pull
        assert.strictEqual(hello.pipe((c) => [...c])[0]![0], 0x16, "a TLS handshake record")
        const exit = yield* Fiber.interrupt(attempt)
        assert.isTrue(Exit.isFailure(exit) && Cause.isInterrupted(exit.cause))
        const failures = Exit.isFailure(exit) ? Chunk.toReadonlyArray(Cause.failures(exit.cause)) : []
        assert.deepStrictEqual(failures.map((e) => e.message), [`Connection to ${server.address.replace("tcp://", "tls://")} cancelled during TLS handshake (ECONNABORTED)`])
        // The client's socket is gone: the server reads the end of the stream (or a reset).
        assert.strictEqual(yield* Effect.either(readAll(peer)).pipe(Effect.map((r) => r._tag === "Right" ? r.right : "")), "")
      }))
  })

  describe("openssl s_server", () => {
    /** Starts `openssl s_server -www` and returns its tls:// URI once it accepts. */
    const sServer = (identity: Certificates.Identity, extra: ReadonlyArray<string> = []) =>
      Effect.gen(function*() {
        const peer = yield* Peers.spawn("openssl", ["s_server", "-accept", "127.0.0.1:0", "-cert", identity.certFile, "-key", identity.keyFile, "-www", ...extra])
        const [, port] = yield* peer.waitFor(/ACCEPT 127\.0\.0\.1:(\d+)/)
        return `tls://127.0.0.1:${port}`
      })

    /**
     * Connects, fetches s_server's status page and closes (s_server serves one connection at a
     * time, until the client closes too); returns the closed connection and the page.
     */
    const fetchPage = (layer: Layer.Layer<Connector>, uri: string) =>
      Effect.gen(function*() {
        const connection = yield* connectWith(layer, uri)
        yield* connection.write("GET / HTTP/1.0\r\n\r\n")
        const page = yield* Effect.ensuring(readAll(connection), connection.close)
        return { connection, page }
      })

    const handshakeFailure = (layer: Layer.Layer<Connector>, uri: string) =>
      Effect.map(Effect.flip(connectWith(layer, uri)), (error) => {
        assert.strictEqual(error.reason, "Failed")
        assert.strictEqual(error.stage, "TLS handshake")
        return error
      })

    it.scoped("verifies the right name, sends it as SNI, and reads over TLS", () =>
      Effect.gen(function*() {
        const uri = yield* sServer(certs.server)
        const { connection, page } = yield* fetchPage(tlsConnector({ ca: certs.ca }), `${uri}?hostname=localhost`)
        assert.match(page, /^HTTP\/1\.0 200 ok/)
        const info = Option.getOrThrow(Tls.info(connection))
        assert.strictEqual(info.protocol, "TLSv1.3")
        assert.deepStrictEqual(info.serverName, Option.some("localhost"))
        assert.strictEqual(Option.getOrThrow(info.peerCertificate).subject.CN, "localhost")
      }))

    it.scoped("verifies an IP literal against the certificate's IP names, without SNI", () =>
      Effect.gen(function*() {
        const uri = yield* sServer(certs.server)
        const { connection, page } = yield* fetchPage(tlsConnector({ ca: certs.ca }), uri)
        assert.match(page, /^HTTP\/1\.0 200 ok/)
        assert.deepStrictEqual(Option.getOrThrow(Tls.info(connection)).serverName, Option.none())
        assert.notInclude(page, "SNI")
      }))

    it.scoped("does not fall back to checking `localhost` for an IP literal (Node's trap)", () =>
      Effect.gen(function*() {
        const uri = yield* sServer(certs.localhostOnly)
        const error = yield* handshakeFailure(tlsConnector({ ca: certs.ca }), uri)
        assert.strictEqual(error.code, "ERR_TLS_CERT_ALTNAME_INVALID")
        assert.strictEqual(
          error.message,
          `Connection to ${uri} failed during TLS handshake: Hostname/IP does not match certificate's altnames: IP: 127.0.0.1 is not in the cert's list: (ERR_TLS_CERT_ALTNAME_INVALID)`
        )
      }))

    it.scoped("picks the certificate by SNI on a server with two", () =>
      Effect.gen(function*() {
        const uri = yield* sServer(certs.wrongName, ["-servername", "localhost", "-cert2", certs.server.certFile, "-key2", certs.server.keyFile])
        const { page } = yield* fetchPage(tlsConnector({ ca: certs.ca }), `${uri}?hostname=localhost`)
        assert.match(page, /^HTTP\/1\.0 200 ok/)
      }))

    it.scoped("fails on a wrong name", () =>
      Effect.gen(function*() {
        const uri = yield* sServer(certs.wrongName)
        const error = yield* handshakeFailure(tlsConnector({ ca: certs.ca }), `${uri}?hostname=localhost`)
        assert.strictEqual(error.code, "ERR_TLS_CERT_ALTNAME_INVALID")
        assert.strictEqual(
          error.message,
          `Connection to ${uri}?hostname=localhost failed during TLS handshake: Hostname/IP does not match certificate's altnames: Host: localhost. is not in the cert's altnames: DNS:wrong.test (ERR_TLS_CERT_ALTNAME_INVALID)`
        )
      }))

    it.scoped("fails on an expired certificate", () =>
      Effect.gen(function*() {
        const uri = yield* sServer(certs.expired)
        const error = yield* handshakeFailure(tlsConnector({ ca: certs.ca }), `${uri}?hostname=localhost`)
        assert.strictEqual(error.message, `Connection to ${uri}?hostname=localhost failed during TLS handshake: Certificate has expired (CERT_HAS_EXPIRED)`)
      }))

    it.scoped("fails on an untrusted CA, and on the test CA when only Node's trust store is used", () =>
      Effect.gen(function*() {
        const untrusted = yield* sServer(certs.untrusted)
        const error = yield* handshakeFailure(tlsConnector({ ca: certs.ca }), `${untrusted}?hostname=localhost`)
        assert.strictEqual(error.code, "UNABLE_TO_VERIFY_LEAF_SIGNATURE")
        assert.match(error.message, /failed during TLS handshake: Unable to verify the first certificate \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)$/)
        const test = yield* sServer(certs.server)
        assert.strictEqual((yield* handshakeFailure(tlsConnector(), `${test}?hostname=localhost`)).code, "UNABLE_TO_VERIFY_LEAF_SIGNATURE")
      }))

    it.scoped("verifyPeer: false and verifyPeerName: false each turn off one check", () =>
      Effect.gen(function*() {
        const untrusted = yield* sServer(certs.untrusted)
        const wrongName = yield* sServer(certs.wrongName)
        const noChain = tlsConnector({ ca: certs.ca, verifyPeer: false })
        const noName = tlsConnector({ ca: certs.ca, verifyPeerName: false })
        assert.match((yield* fetchPage(noChain, `${untrusted}?hostname=localhost`)).page, /^HTTP\/1\.0 200 ok/)
        assert.match((yield* fetchPage(noName, `${wrongName}?hostname=localhost`)).page, /^HTTP\/1\.0 200 ok/)
        // The name is still checked when only the chain check is off, and the other way round.
        assert.strictEqual((yield* handshakeFailure(noChain, `${wrongName}?hostname=localhost`)).code, "ERR_TLS_CERT_ALTNAME_INVALID")
        assert.strictEqual((yield* handshakeFailure(noName, `${untrusted}?hostname=localhost`)).code, "UNABLE_TO_VERIFY_LEAF_SIGNATURE")
      }))

    it.scoped("presents a client certificate when the server requires one", () =>
      Effect.gen(function*() {
        const uri = yield* sServer(certs.server, ["-Verify", "1", "-CAfile", certs.caFile, "-verify_return_error"])
        const withCert = tlsConnector({ ca: certs.ca, cert: certs.client.cert, key: certs.client.key })
        assert.match((yield* fetchPage(withCert, `${uri}?hostname=localhost`)).page, /^HTTP\/1\.0 200 ok/)
        // Without one, TLS 1.3 lets the client finish its handshake; the server's alert ends the read.
        const without = yield* Effect.either(fetchPage(tlsConnector({ ca: certs.ca }), `${uri}?hostname=localhost`))
        assert.isFalse(without._tag === "Right" && /200 ok/.test(without.right.page))
      }))

    it.scoped("negotiates ALPN and TLS 1.2 when the server wants them", () =>
      Effect.gen(function*() {
        const uri = yield* sServer(certs.server, ["-alpn", "h2,http/1.1", "-tls1_2"])
        const layer = tlsConnector({ ca: certs.ca, alpnProtocols: ["http/1.1"] })
        const { connection } = yield* fetchPage(layer, `${uri}?hostname=localhost`)
        const info = Option.getOrThrow(Tls.info(connection))
        assert.deepStrictEqual(info.alpnProtocol, Option.some("http/1.1"))
        assert.strictEqual(info.protocol, "TLSv1.2")
      }))

    it.scoped("over DnsConnector: tls://name:port resolves, and the name is verified and sent as SNI", () =>
      Effect.gen(function*() {
        const uri = yield* sServer(certs.other)
        const port = uri.split(":").pop()!
        const resolver = Layer.succeed(Resolver, Resolver.of({
          resolve: (host) =>
            host === "other.test"
              ? Effect.succeed(["127.0.0.1"])
              : Effect.fail(new DnsError({ reason: "NotFound", host, family: 4, code: "ENOTFOUND", detail: "Not found" }))
        }))
        const layer = TlsConnector.layer({ ca: certs.ca }).pipe(
          Layer.provide(DnsConnector.layer),
          Layer.provide(Layer.merge(TcpConnector.layer, resolver))
        )
        const { connection, page } = yield* fetchPage(layer, `tls://other.test:${port}`)
        assert.match(page, /^HTTP\/1\.0 200 ok/)
        assert.deepStrictEqual(Option.getOrThrow(Tls.info(connection)).serverName, Option.some("other.test"))
        const missing = yield* Effect.flip(connectWith(layer, `tls://missing.test:${port}`))
        assert.strictEqual(missing.stage, "DNS lookup")
        assert.match(missing.message, new RegExp(`^Connection to tls://missing\\.test:${port} failed during DNS lookup: `))
      }))

    it.scoped("the plain TCP connector is what it wraps: connections are TLS ones", () =>
      Effect.gen(function*() {
        const uri = yield* sServer(certs.server)
        const connection = yield* connectWith(Layer.provide(TlsConnector.layer({ ca: certs.ca }), TcpConnector.layer), uri)
        assert.isTrue(Tls.isTlsConnection(connection))
        assert.deepStrictEqual(connection.remoteAddress, Option.some(uri))
      }))
  })
})
