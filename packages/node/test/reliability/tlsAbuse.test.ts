/**
 * Bad input at a TlsServer: random bytes, truncated and corrupted ClientHellos, and clients that
 * connect and never say anything. Each is turned away with a typed `Handshake` error on
 * `errors`, none is handed out, nothing is left open, and a real client is served afterwards.
 */
import * as NodeConnection from "@effect-socket/node/NodeConnection"
import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as TlsConnector from "@effect-socket/node/TlsConnector"
import { Connector } from "@effect-socket/socket/Connector"
import type { Server } from "@effect-socket/socket/Server"
import { ServerError } from "@effect-socket/socket/SocketError"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import * as fc from "fast-check"
import * as net from "node:net"
import * as tls from "node:tls"
import { hostPort } from "../fixtures/net.js"
import { tlsServer } from "../fixtures/helpers.js"
import { certificates, echo, readAtLeast, resources, SEED, serveInBackground, settle, size, TIMEOUT } from "./support.js"

const ABUSERS = size(200, 2_000)
const SILENT = size(300, 1_000)

/** How long the server gives a handshake: short, so that clients that say nothing are turned away soon. */
const HANDSHAKE_TIMEOUT = 300

/** The first TLS record a Node client sends: a real ClientHello. */
const clientHello = Effect.async<Buffer>((resume) => {
  const server = net.createServer((socket) => {
    socket.once("data", (data: Buffer) => {
      client.destroy()
      socket.destroy()
      server.close(() => resume(Effect.succeed(data)))
    })
  })
  let client: tls.TLSSocket
  server.listen(0, "127.0.0.1", () => {
    const { port } = server.address() as net.AddressInfo
    client = tls.connect({ host: "127.0.0.1", port, servername: "localhost", rejectUnauthorized: false })
    client.on("error", () => {})
  })
})

/** What an abusive client does after sending its bytes. */
type Then = "end" | "reset" | "wait"

/**
 * A raw client that sends `bytes`, then ends, resets, or waits; resolves once the server closed
 * the connection (or, after a reset, at once). Dies if the server sends anything but a TLS alert
 * or handshake record and then closes.
 */
const abuse = (address: string, bytes: Uint8Array, then: Then) =>
  Effect.async<void>((resume) => {
    const socket = net.connect(hostPort(address), () => {
      socket.write(bytes)
      if (then === "end") socket.end()
      if (then === "reset") {
        socket.resetAndDestroy()
        resume(Effect.void)
      }
    })
    socket.on("error", () => {})
    socket.on("data", () => {})
    socket.once("close", () => resume(Effect.void))
    return Effect.sync(() => socket.destroy())
  })

/** A TLS echo server that counts what it hands out and keeps every error, and a trusting connector. */
const setup = Effect.gen(function*() {
  const certs = yield* certificates
  const server = yield* tlsServer({ cert: certs.server.cert, key: certs.server.key, handshakeTimeout: HANDSHAKE_TIMEOUT })
  const handedOut = yield* Ref.make(0)
  const errors = yield* Ref.make<ReadonlyArray<ServerError>>([])
  yield* Effect.forkScoped(Stream.runForEach(server.errors, (error) => Ref.update(errors, (all) => [...all, error])))
  yield* Effect.sleep("20 millis")
  yield* serveInBackground(server, (connection) => Effect.zipRight(Ref.update(handedOut, (n) => n + 1), echo(connection)))
  const connector = yield* Effect.provide(Connector, Layer.provide(TlsConnector.layer({ ca: certs.ca }), TcpConnector.layer))
  return { server, handedOut, errors, connector }
})

/** A real client is still served: a line goes there and back over TLS. */
const stillServes = (server: Server, connector: Connector["Type"]) =>
  Effect.scoped(Effect.gen(function*() {
    const connection = yield* connector.connect(server.address)
    assert.isDefined(NodeConnection.socketOf(connection))
    yield* connection.write("still serving\n")
    assert.strictEqual(String(yield* readAtLeast(connection, 14)), "still serving\n")
  }))

/**
 * Every error is a typed `Handshake` one naming the server (and the client, when its socket was
 * still open as the handshake began: a client reset before that is no longer known).
 */
const assertHandshakeErrors = (errors: ReadonlyArray<ServerError>, server: Server) => {
  assert.isAbove(errors.length, 0)
  for (const error of errors) {
    assert.instanceOf(error, ServerError)
    assert.strictEqual(error.reason, "Handshake")
    assert.strictEqual(error.address, server.address)
    assert.isString(error.code)
  }
}

describe("bad input at a TlsServer", () => {
  it.live(`${ABUSERS} clients sending random bytes, truncated or corrupted ClientHellos`, () =>
    Effect.scoped(Effect.gen(function*() {
      const { connector, errors, handedOut, server } = yield* setup
      const hello = yield* clientHello
      yield* stillServes(server, connector)
      const baseline = resources()
      const then = fc.constantFrom<Then>("end", "reset", "wait")
      const input = fc.oneof(
        // Noise, some of it starting like a TLS handshake record.
        fc.tuple(fc.boolean(), fc.uint8Array({ maxLength: 2_048 })).map(([framed, bytes]) =>
          framed ? Buffer.concat([Buffer.from([0x16, 0x03, 0x01, bytes.length >> 8, bytes.length & 0xff]), bytes]) : bytes),
        // A ClientHello cut short.
        fc.nat(hello.length - 1).map((length) => hello.subarray(0, length)),
        // A ClientHello with a few bytes changed.
        fc.array(fc.tuple(fc.nat(hello.length - 1), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }).map((changes) => {
          const corrupted = Buffer.from(hello)
          for (const [at, value] of changes) corrupted[at] = value
          return corrupted
        })
      )
      const cases = fc.sample(fc.tuple(input, then), { numRuns: ABUSERS, seed: SEED })
      yield* Effect.forEach(cases, ([bytes, after]) => abuse(server.address, bytes, after), { concurrency: 16, discard: true })
      assert.strictEqual(yield* Ref.get(handedOut), 1, "only the real client was handed out")
      yield* stillServes(server, connector)
      assert.strictEqual(yield* settle(baseline), "", `left open (seed ${SEED})`)
      assertHandshakeErrors(yield* Ref.get(errors), server)
    })), TIMEOUT)

  it.live(`${SILENT} clients that connect and never send anything are closed at the handshake timeout`, () =>
    Effect.scoped(Effect.gen(function*() {
      const { connector, errors, handedOut, server } = yield* setup
      yield* stillServes(server, connector)
      const baseline = resources()
      const started = Date.now()
      yield* Effect.forEach(Array.from({ length: SILENT }), () => abuse(server.address, new Uint8Array(0), "wait"), {
        concurrency: "unbounded",
        discard: true
      })
      // Each waited its handshake timeout, a few rounds at most: handshakes are bounded (511 at once).
      assert.isAtLeast(Date.now() - started, HANDSHAKE_TIMEOUT)
      assert.strictEqual(yield* Ref.get(handedOut), 1)
      yield* stillServes(server, connector)
      assert.strictEqual(yield* settle(baseline), "")
      const all = yield* Ref.get(errors)
      assertHandshakeErrors(all, server)
      for (const error of all) assert.strictEqual(error.code, "ETIMEDOUT", error.message)
    })), TIMEOUT)
})
