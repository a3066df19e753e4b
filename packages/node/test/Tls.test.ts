/**
 * Tls.upgrade (STARTTLS): a plaintext connection becomes a TLS one in place, with the same
 * verification defaults and errors as TlsConnector and TlsServer, and without losing the bytes
 * that arrived before the upgrade. Real peer: `openssl s_client -starttls smtp`.
 */
import * as NodeConnection from "@effect-socket/node/NodeConnection"
import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as TcpServer from "@effect-socket/node/TcpServer"
import * as Tls from "@effect-socket/node/Tls"
import type { Connection } from "@effect-socket/socket/Connection"
import * as Server from "@effect-socket/socket/Server"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as Certificates from "./fixtures/certificates.js"
import { connectWith, lineReader, readAll, realSleep } from "./fixtures/helpers.js"
import * as Peers from "./fixtures/peers.js"

let certs: Certificates.Certificates
beforeAll(() => {
  certs = Certificates.generate()
})
afterAll(() => Certificates.remove(certs))

const serverSide = () => ({ role: "server" as const, cert: certs.server.cert, key: certs.server.key })
const clientSide = () => ({ role: "client" as const, ca: certs.ca, peerName: "localhost" })

/** A plain TCP server whose connections go to `handler`, and a plain client connected to it. */
const plainPair = <E>(handler: (connection: Connection) => Effect.Effect<unknown, E, Scope.Scope>) =>
  Effect.gen(function*() {
    const server = yield* TcpServer.make("127.0.0.1:0")
    yield* Effect.forkScoped(Server.serve(server, handler))
    const client = yield* connectWith(TcpConnector.layer, server.address)
    return { server, client }
  })

/** Waits (in real time) until the socket under `connection` has read more than `bytes` bytes. */
const bytesReadBeyond = (connection: Connection, bytes: number) =>
  Effect.gen(function*() {
    const socket = NodeConnection.socketOf(connection)!
    while (socket.bytesRead <= bytes) yield* realSleep(2)
    // `data` is emitted in the same turn the bytes are counted; one more turn to be sure.
    yield* realSleep(2)
  })

describe("Tls.upgrade", () => {
  it.scoped("STARTTLS on a line protocol: both sides upgrade, then talk over TLS", () =>
    Effect.gen(function*() {
      const serverInfo = yield* Deferred.make<Tls.TlsInfo>()
      const { client } = yield* plainPair((plain) =>
        Effect.gen(function*() {
          const lines = yield* lineReader(plain)
          assert.strictEqual(yield* lines.readLine, "STARTTLS")
          yield* plain.write("OK\n")
          const secure = yield* Tls.upgrade(plain, { ...serverSide(), unread: lines.rest() })
          yield* Deferred.succeed(serverInfo, secure)
          const secureLines = yield* lineReader(secure)
          yield* secure.write(`secret ${yield* secureLines.readLine}\n`)
          yield* secure.end
        }))
      const lines = yield* lineReader(client)
      yield* client.write("STARTTLS\n")
      assert.strictEqual(yield* lines.readLine, "OK")
      const secure = yield* Tls.upgrade(client, { ...clientSide(), unread: lines.rest() })
      yield* secure.write("hello\n")
      assert.strictEqual(yield* readAll(secure), "secret hello\n")
      assert.strictEqual(secure.protocol, "TLSv1.3")
      assert.deepStrictEqual(secure.serverName, Option.some("localhost"))
      assert.deepStrictEqual((yield* Deferred.await(serverInfo)).serverName, Option.some("localhost"))
      assert.match(Option.getOrThrow(secure.remoteAddress), /^tls:\/\/127\.0\.0\.1:\d+$/)
      assert.deepStrictEqual(Tls.info(client), Option.none())
    }))

  it.scoped("bytes the plain connection read ahead before the upgrade reach TLS", () =>
    Effect.gen(function*() {
      const { client } = yield* plainPair((plain) =>
        Effect.gen(function*() {
          const lines = yield* lineReader(plain)
          assert.strictEqual(yield* lines.readLine, "STARTTLS")
          assert.strictEqual(lines.rest().length, 0)
          yield* plain.write("OK\n")
          // The client hello arrives while nobody pulls: it waits in the connection's read-ahead.
          yield* bytesReadBeyond(plain, "STARTTLS\n".length)
          const secure = yield* Tls.upgrade(plain, serverSide())
          yield* secure.write("upgraded")
          yield* secure.end
        }))
      const lines = yield* lineReader(client)
      yield* client.write("STARTTLS\n")
      assert.strictEqual(yield* lines.readLine, "OK")
      const secure = yield* Tls.upgrade(client, clientSide())
      assert.strictEqual(yield* readAll(secure), "upgraded")
    }))

  it.scoped("bytes already pulled that belong to TLS go in `unread`", () =>
    Effect.gen(function*() {
      const { client } = yield* plainPair((plain) =>
        Effect.gen(function*() {
          const lines = yield* lineReader(plain)
          assert.strictEqual(yield* lines.readLine, "STARTTLS")
          // The client does not wait for an answer: read on until part of its hello is pulled.
          while (lines.rest().length === 0) yield* lines.readMore
          assert.strictEqual(lines.rest()[0], 0x16, "a TLS handshake record")
          const secure = yield* Tls.upgrade(plain, { ...serverSide(), unread: lines.rest() })
          yield* secure.write("pipelined")
          yield* secure.end
        }))
      yield* client.write("STARTTLS\n")
      const secure = yield* Tls.upgrade(client, clientSide())
      assert.strictEqual(yield* readAll(secure), "pipelined")
    }))

  it.scoped("the plain connection is replaced: its writes fail, its reads end, closing it closes TLS", () =>
    Effect.gen(function*() {
      const accepted = yield* Queue.unbounded<Connection>()
      const { client } = yield* plainPair((plain) =>
        Effect.gen(function*() {
          const secure = yield* Tls.upgrade(plain, serverSide())
          yield* Queue.offer(accepted, secure)
          yield* Effect.never
        }))
      const secure = yield* Tls.upgrade(client, clientSide())
      const failure = yield* Effect.flip(client.write("plaintext"))
      assert.strictEqual(failure.reason, "Closed")
      assert.strictEqual(yield* readAll(client), "")
      assert.strictEqual((yield* Effect.flip(client.end)).reason, "Closed")
      const peer = yield* Queue.take(accepted)
      yield* client.close
      assert.strictEqual(yield* readAll(peer), "")
      assert.deepStrictEqual(secure.remoteAddress, Option.none())
    }))

  it.scoped("client-side failures are ConnectErrors naming the remote address, and close the socket", () =>
    Effect.gen(function*() {
      const { client } = yield* plainPair((plain) =>
        Effect.zipRight(plain.write("220 no TLS here, sorry\r\n".repeat(4)), Effect.never))
      const remote = Option.getOrThrow(client.remoteAddress)
      const error = yield* Effect.flip(Tls.upgrade(client, clientSide()))
      assert.strictEqual(error.reason, "Failed")
      assert.strictEqual(error.stage, "TLS handshake")
      assert.strictEqual(error.uri, remote)
      assert.match(error.message, new RegExp(`^Connection to ${remote} failed during TLS handshake: .+ \\(ERR_SSL_`))
      assert.deepStrictEqual(client.remoteAddress, Option.none())
    }))

  it.scoped("verifies the remote IP by default, not `localhost`", () =>
    Effect.gen(function*() {
      const { client } = yield* plainPair((plain) =>
        Effect.either(Tls.upgrade(plain, { role: "server", cert: certs.localhostOnly.cert, key: certs.localhostOnly.key })))
      const error = yield* Effect.flip(Tls.upgrade(client, { role: "client", ca: certs.ca }))
      assert.strictEqual(error.code, "ERR_TLS_CERT_ALTNAME_INVALID")
    }))

  it.scoped("a connection that already ended or is already TLS cannot be upgraded", () =>
    Effect.gen(function*() {
      const { client } = yield* plainPair((plain) =>
        Effect.gen(function*() {
          const secure = yield* Tls.upgrade(plain, serverSide())
          yield* secure.end
        }))
      const secure = yield* Tls.upgrade(client, clientSide())
      const remote = Option.getOrThrow(secure.remoteAddress)
      const again = yield* Effect.flip(Tls.upgrade(secure, clientSide()))
      assert.strictEqual(again.message, `Connection to ${remote} failed during TLS handshake: Connection is already encrypted (EINVAL)`)
      // Refused without touching it: the TLS connection stays open.
      assert.strictEqual(Option.getOrUndefined(secure.remoteAddress), remote)

      const { client: ended } = yield* plainPair((plain) => plain.end)
      assert.strictEqual(yield* readAll(ended), "")
      const lost = yield* Effect.flip(Tls.upgrade(ended, { ...clientSide(), uri: "tcp://mail.test:25" }))
      assert.strictEqual(lost.message, "Connection to tcp://mail.test:25 failed during TLS handshake: Connection lost during TLS handshake (ECONNRESET)")
    }))

  it.scoped("upgrading the same plain connection twice fails at once; the first TLS connection keeps working", () =>
    Effect.gen(function*() {
      const serverPlain = yield* Deferred.make<Connection>()
      const { client } = yield* plainPair((plain) =>
        Effect.gen(function*() {
          const secure = yield* Tls.upgrade(plain, serverSide())
          yield* Deferred.succeed(serverPlain, plain)
          const lines = yield* lineReader(secure)
          for (;;) yield* secure.write(`echo ${yield* lines.readLine}\n`)
        }))
      const remote = Option.getOrThrow(client.remoteAddress)
      const secure = yield* Tls.upgrade(client, clientSide())
      const lines = yield* lineReader(secure)

      const again = yield* Effect.flip(Tls.upgrade(client, clientSide()))
      assert.strictEqual(again._tag, "ConnectError")
      assert.strictEqual(again.code, "EINVAL")
      assert.strictEqual(
        again.message,
        `Connection to ${remote} failed during TLS handshake: Connection was already upgraded to TLS (EINVAL)`
      )
      // A bad option is reported first, but does not close the connection under the TLS one either.
      const badOption = yield* Effect.flip(Tls.upgrade(client, { ...clientSide(), handshakeTimeout: -1 }))
      assert.strictEqual(badOption.code, "EINVAL")
      assert.match(badOption.message, /Invalid option handshakeTimeout: -1/)
      const plain = yield* Deferred.await(serverPlain)
      const serverAgain = yield* Effect.flip(Tls.upgrade(plain, serverSide()))
      assert.strictEqual(serverAgain._tag, "ServerError")
      assert.strictEqual(serverAgain.code, "EINVAL")

      yield* secure.write("one\n")
      assert.strictEqual(yield* lines.readLine, "echo one")
      yield* secure.write("two\n")
      assert.strictEqual(yield* lines.readLine, "echo two")
    }))

  it.scoped("a client-side handshake timeout, on the Clock, closes the socket", () =>
    Effect.gen(function*() {
      const { client } = yield* plainPair(() => Effect.never)
      const attempt = yield* Effect.fork(Tls.upgrade(client, { ...clientSide(), handshakeTimeout: "2 seconds", uri: "tcp://mail.test:25" }))
      while ((yield* TestClock.sleeps()).length === 0) yield* realSleep(5)
      yield* TestClock.adjust("2 seconds")
      const error = yield* Effect.flip(Fiber.join(attempt))
      assert.strictEqual(error.reason, "Timeout")
      assert.strictEqual(error.message, "Connection to tcp://mail.test:25 timed out after 2.0 seconds (ETIMEDOUT)")
      assert.deepStrictEqual(client.remoteAddress, Option.none())
    }))

  it.scoped("server-side failures are Handshake ServerErrors naming both addresses", () =>
    Effect.gen(function*() {
      const failures = yield* Queue.unbounded<string>()
      const { client, server } = yield* plainPair((plain) =>
        Effect.flatMap(Effect.flip(Tls.upgrade(plain, serverSide())), (e) => Queue.offer(failures, e.message)))
      yield* client.write("EHLO plaintext\r\n")
      assert.strictEqual(
        yield* Queue.take(failures),
        `Connection from ${Option.getOrThrow(client.localAddress)} failed during TLS handshake on ${server.address}: Wrong version number (ERR_SSL_WRONG_VERSION_NUMBER)`
      )
    }))

  it.scoped("openssl s_client -starttls smtp against a tiny SMTP responder", () =>
    Effect.gen(function*() {
      const server = yield* TcpServer.make("127.0.0.1:0")
      const smtp = (plain: Connection) =>
        Effect.gen(function*() {
          yield* plain.write("220 localhost ESMTP effect-socket\r\n")
          const lines = yield* lineReader(plain)
          assert.match(yield* lines.readLine, /^EHLO /)
          yield* plain.write("250-localhost\r\n250 STARTTLS\r\n")
          assert.strictEqual(yield* lines.readLine, "STARTTLS")
          yield* plain.write("220 Ready to start TLS\r\n")
          const secure = yield* Tls.upgrade(plain, { ...serverSide(), unread: lines.rest() })
          const secureLines = yield* lineReader(secure)
          const command = yield* secureLines.readLine
          yield* secure.write(`250 ${command} over ${secure.protocol}\r\n221 Bye\r\n`)
          yield* secure.end
        })
      yield* Effect.forkScoped(Server.serve(server, smtp))
      const port = server.address.split(":").pop()!
      const peer = yield* Peers.spawn("openssl", [
        "s_client", "-connect", `127.0.0.1:${port}`, "-starttls", "smtp", "-name", "client.test",
        "-CAfile", certs.caFile, "-verify_return_error", "-servername", "localhost", "-crlf", "-quiet"
      ], { stdin: "NOOP\n" })
      const code = yield* peer.exit
      assert.strictEqual(code, 0, peer.stderr())
      assert.include(peer.stdout(), "250 NOOP over TLSv1.3")
      assert.include(peer.stderr(), "verify return:1")
    }))
})
