/**
 * Faults: abrupt resets mid-stream (TCP, Unix, TLS), peer half-close, writes after the peer
 * closed. Typed errors only, no byte received before the fault is lost, and the server goes on
 * serving.
 */
import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as TcpServer from "@effect-socket/node/TcpServer"
import * as TlsConnector from "@effect-socket/node/TlsConnector"
import * as TlsServer from "@effect-socket/node/TlsServer"
import * as UnixConnector from "@effect-socket/node/UnixConnector"
import * as UnixServer from "@effect-socket/node/UnixServer"
import { Connector } from "@effect-socket/socket/Connector"
import type { Server } from "@effect-socket/socket/Server"
import type { Connection } from "@effect-socket/socket/Connection"
import { ConnectionError } from "@effect-socket/socket/SocketError"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as fc from "fast-check"
import * as crypto from "node:crypto"
import * as net from "node:net"
import * as tls from "node:tls"
import * as path from "node:path"
import { tempDir } from "../support/processes.js"
import { certificates, echo, readAll, readAtLeast, SEED, serveInBackground, size, TIMEOUT } from "./support.js"

/**
 * A raw `node:net` client of `address` (tcp:// or unix://), connected and paused: it reads
 * nothing from the kernel until resumed.
 */
const rawClient = (address: string) =>
  Effect.acquireRelease(
    Effect.async<net.Socket>((resume) => {
      const url = new URL(address)
      const options: net.NetConnectOpts = url.protocol === "unix:"
        ? { path: address.slice("unix://".length), allowHalfOpen: true }
        : { host: url.hostname, port: Number(url.port), allowHalfOpen: true }
      const socket = net.connect(options, () => resume(Effect.succeed(socket)))
      socket.pause()
      socket.on("error", () => {})
    }),
    (socket) => Effect.sync(() => socket.destroy())
  )

/** A TLS client over the connected raw socket `raw` (not verifying the server), once its handshake is done. */
const tlsOver = (raw: net.Socket) =>
  Effect.async<tls.TLSSocket>((resume) => {
    const socket = tls.connect({ socket: raw, rejectUnauthorized: false }, () => resume(Effect.succeed(socket)))
    socket.on("error", () => {})
  })

/** A TLS connector over TCP that trusts `ca`. */
const trusting = (ca: string) => Effect.provide(Connector, Layer.provide(TlsConnector.layer({ ca }), TcpConnector.layer))

/** Writes `data` on a raw socket and waits until Node handed it to the kernel. */
const rawWrite = (socket: net.Socket, data: Uint8Array | string) =>
  Effect.async<void>((resume) => void socket.write(data, () => resume(Effect.void)))

const nextConnection = (server: Server) =>
  Effect.map(Stream.runCollect(Stream.take(server.connections, 1)), Chunk.unsafeHead)

/** Pulls `pull` until it ends or fails: the bytes read, and the error if it failed. */
const drain = (pull: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<ConnectionError>>) =>
  Effect.gen(function*() {
    const chunks: Array<Uint8Array> = []
    while (true) {
      const next = yield* Effect.either(pull)
      if (Either.isRight(next)) {
        chunks.push(...next.right)
        continue
      }
      return { bytes: Buffer.concat(chunks), error: Option.getOrUndefined(next.left) }
    }
  })

/** Asserts that a failure after a reset is the typed one (a clean end is allowed too). */
const assertResetError = (error: ConnectionError | undefined) => {
  if (error === undefined) return
  assert.instanceOf(error, ConnectionError)
  assert.strictEqual(error.reason, "Read")
  assert.strictEqual(error.code, "ECONNRESET")
  assert.include(error.message, "ECONNRESET")
}

/**
 * Resets the connection from the raw peer's side: a TCP RST; for a Unix socket, which has none,
 * closing with unread bytes, which the kernel reports to the other side as `ECONNRESET`.
 */
const reset = (client: net.Socket, connection: Connection) =>
  client.remoteAddress !== undefined
    ? Effect.sync(() => client.resetAndDestroy())
    : Effect.gen(function*() {
      yield* connection.write("unread")
      yield* Effect.sleep("20 millis")
      client.destroy()
    })

/** A TCP and a Unix server for the duration of the scope. */
const transports = [
  { name: "TCP", server: TcpServer.make(0, { readHighWaterMark: 1024 }) },
  {
    name: "Unix",
    server: Effect.flatMap(tempDir, (dir) => UnixServer.make(path.join(dir, "s.sock"), { readHighWaterMark: 1024 }))
  }
] as const

describe("faults", () => {
  for (const transport of transports) {
    it.live(`${transport.name}: a reset after bytes the reader has not pulled yet: every byte, then ECONNRESET`, () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* transport.server
        const client = yield* rawClient(server.address)
        const connection = yield* nextConnection(server)
        const pull = yield* Stream.toPull(connection.read)
        const payload = crypto.randomBytes(1 + 2 * 8_000)
        yield* rawWrite(client, payload.subarray(0, 1))
        const first = yield* pull
        // The reader stops pulling: the first block fills its read-ahead (1 KiB mark), the second
        // waits in the socket's own buffer.
        yield* rawWrite(client, payload.subarray(1, 8_001))
        yield* Effect.sleep("50 millis")
        yield* rawWrite(client, payload.subarray(8_001))
        yield* Effect.sleep("50 millis")
        yield* reset(client, connection)
        yield* Effect.sleep("50 millis")
        const rest = yield* drain(pull)
        assert.deepStrictEqual(Buffer.concat([...first, rest.bytes]), payload)
        assertResetError(rest.error)
      })), TIMEOUT)
  }

  for (const secure of [false, true]) {
    const name = secure ? "TLS" : "TCP"
    it.live(`${name}: resets mid-stream at random points while the reader pulls: a prefix of what was sent, typed errors, the server goes on`, () =>
      Effect.scoped(Effect.gen(function*() {
        const certs = yield* certificates
        const tcp = yield* TcpServer.make(0)
        const server = secure ? yield* TlsServer.make(tcp, { cert: certs.server.cert, key: certs.server.key }) : tcp
        const results: Array<{ bytes: Buffer; error: ConnectionError | undefined }> = []
        let resetting = true
        yield* serveInBackground(server, (connection) =>
          resetting
            ? Effect.flatMap(Stream.toPull(connection.read), drain).pipe(Effect.tap((result) => Effect.sync(() => results.push(result))))
            : echo(connection))
        const payload = crypto.randomBytes(4 * 1024 * 1024)
        const runs = size(20, 200)
        const cuts = fc.sample(fc.tuple(fc.integer({ min: 1, max: 256 }), fc.nat(5)), { numRuns: runs, seed: SEED })
        for (const [blocks, pause] of cuts) {
          const raw = yield* rawClient(tcp.address)
          raw.resume()
          const client = secure ? yield* tlsOver(raw) : raw
          // 16 KiB blocks as fast as the socket takes them, then a reset after a few milliseconds:
          // it lands mid-stream, with bytes in flight and in every buffer on the way.
          for (let block = 0; block < blocks; block++) client.write(payload.subarray(block * 16 * 1024, (block + 1) * 16 * 1024))
          yield* Effect.sleep(`${pause} millis`)
          raw.resetAndDestroy()
        }
        yield* Effect.sync(() => results.length).pipe(
          Effect.repeat({ until: (n) => n >= runs, schedule: Schedule.spaced("10 millis") }),
          Effect.timeout("10 seconds")
        )
        for (const { bytes, error } of results) {
          assert.isTrue(payload.subarray(0, bytes.length).equals(bytes), `the bytes read are a prefix of those sent (seed ${SEED})`)
          assertResetError(error)
        }
        resetting = false
        const connector = secure ? yield* trusting(certs.ca) : Connector.of({ connect: (uri) => TcpConnector.connect(uri) })
        const reply = yield* Effect.scoped(Effect.gen(function*() {
          const connection = yield* connector.connect(server.address)
          yield* connection.write("after the resets\n")
          return String(yield* readAtLeast(connection, 17))
        }))
        assert.strictEqual(reply, "after the resets\n")
      })), TIMEOUT)
  }

  for (const transport of transports) {
    it.live(`${transport.name}: peer half-close ends our read with every byte; we still write, then end`, () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* transport.server
        const client = yield* rawClient(server.address)
        const received: Array<Buffer> = []
        client.on("data", (data: Buffer) => received.push(data))
        client.resume()
        const clientEnded = Effect.async<void>((resume) => void client.once("end", () => resume(Effect.void)))
        const connection = yield* nextConnection(server)
        const request = crypto.randomBytes(300_000)
        client.end(request)
        const read = yield* readAll(connection)
        assert.isTrue(read.equals(request))
        // Half-open: the peer no longer sends, but still reads.
        const response = crypto.randomBytes(300_000)
        yield* connection.write(response)
        yield* connection.end
        yield* clientEnded
        assert.isTrue(Buffer.concat(received).equals(response))
        yield* connection.closed
      })), TIMEOUT)
  }

  it.live("TCP: after our half-close, the peer's bytes still arrive and writes fail with Closed (EPIPE)", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* TcpServer.make(0)
      const client = yield* rawClient(server.address)
      const connection = yield* nextConnection(server)
      yield* connection.end
      const error = yield* Effect.flip(connection.write("too late"))
      assert.strictEqual(error.reason, "Closed")
      assert.strictEqual(error.code, "EPIPE")
      const late = crypto.randomBytes(100_000)
      client.end(late)
      assert.isTrue((yield* readAll(connection)).equals(late))
    })), TIMEOUT)

  const peerLeaves = [
    { name: "closes", leave: (socket: net.Socket) => socket.destroy() },
    { name: "resets", leave: (socket: net.Socket) => socket.resetAndDestroy() }
  ] as const

  for (const { leave, name } of peerLeaves) {
    it.live(`TCP: writes after the peer ${name} fail with a typed error, and so does the read after its bytes`, () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* TcpServer.make(0)
        const client = yield* rawClient(server.address)
        const connection = yield* nextConnection(server)
        const reader = yield* Effect.fork(Effect.flatMap(Stream.toPull(connection.read), drain))
        yield* rawWrite(client, "last words")
        leave(client)
        yield* Effect.sleep("20 millis")
        // The first writes may still be accepted (the kernel learns of the close from the peer's
        // answer to them); a typed error follows within a few.
        const write = connection.write(Buffer.alloc(64 * 1024)).pipe(Effect.zipRight(Effect.sleep("5 millis")))
        const error = yield* Effect.flip(Effect.forever(write)).pipe(Effect.timeout("5 seconds"))
        assert.instanceOf(error, ConnectionError)
        assert.include(["Write", "Closed"], error.reason)
        assert.include(["EPIPE", "ECONNRESET"], error.code)
        const rest = yield* Fiber.join(reader)
        assert.strictEqual(String(rest.bytes), "last words")
        if (rest.error !== undefined) assert.instanceOf(rest.error, ConnectionError)
        yield* connection.end
        yield* connection.closed
      })), TIMEOUT)
  }

  it.live("Unix: writes after the peer closes fail with a typed error", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const server = yield* UnixServer.make(path.join(dir, "s.sock"))
      yield* serveInBackground(server, (connection) => connection.close)
      const connection = yield* UnixConnector.connect(server.address)
      yield* connection.closed.pipe(Effect.race(Effect.flatMap(Stream.toPull(connection.read), drain)))
      const write = connection.write(Buffer.alloc(64 * 1024)).pipe(Effect.zipRight(Effect.sleep("5 millis")))
      const error = yield* Effect.flip(Effect.forever(write)).pipe(Effect.timeout("5 seconds"))
      assert.instanceOf(error, ConnectionError)
      assert.include(["EPIPE", "ECONNRESET"], error.code)
    })), TIMEOUT)
})
