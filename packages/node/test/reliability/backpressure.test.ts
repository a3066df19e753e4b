/**
 * Backpressure: a peer that does not read (over TCP and TLS), a consumer that does not pull, and
 * a server whose connections nobody pulls keep memory bounded (Node's socket buffers, the
 * process's RSS and its file descriptors), and nothing is lost once they go on.
 */
import * as NodeConnection from "@effect-socket/node/NodeConnection"
import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as TcpServer from "@effect-socket/node/TcpServer"
import * as TlsServer from "@effect-socket/node/TlsServer"
import type { ServerError } from "@effect-socket/socket/SocketError"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import * as net from "node:net"
import * as tls from "node:tls"
import { certificates, echo, readAll, readAtLeast, resources, serveInBackground, size, TIMEOUT } from "./support.js"

const MiB = 1024 * 1024
const TOTAL = size(256, 1024) * MiB
const CHUNK = 64 * 1024
const FLOOD = size(2_000, 10_000)

/** Node's default writable high-water mark for sockets (16 KiB on Node 20, 64 KiB later). */
const writableHighWaterMark = () => new net.Socket().writableHighWaterMark

/**
 * What the writers send, over and over: a writer that ran ahead of its peer would show in
 * `writableLength`; fresh buffers would measure the garbage collector's pace instead.
 */
const ring = Array.from({ length: 16 }, (_, i) => Buffer.alloc(CHUNK, i))

/** Largest RSS growth allowed while gigabytes pass or wait: far below what buffering them would take. */
const RSS_CEILING = 96 * MiB

/** Samples `measure` every 5 ms while the scope is open and keeps the largest value. */
const peak = (measure: () => number) =>
  Effect.gen(function*() {
    const max = yield* Ref.make(measure())
    yield* Effect.forkScoped(
      Effect.sync(measure).pipe(
        Effect.flatMap((value) => Ref.update(max, (m) => Math.max(m, value))),
        Effect.repeat(Schedule.spaced("5 millis"))
      )
    )
    return Ref.get(max)
  })

/** Polls `read` every 20 ms until it has not changed for `quietMs`, and returns its value. */
const stalled = (read: Effect.Effect<number>, quietMs: number) =>
  Effect.gen(function*() {
    let last = yield* read
    let since = Date.now()
    while (Date.now() - since < quietMs) {
      yield* Effect.sleep("20 millis")
      const now = yield* read
      if (now !== last) {
        last = now
        since = Date.now()
      }
    }
    return last
  })

describe("backpressure", () => {
  it.live(`writing ${TOTAL / MiB} MiB to a peer that does not read stalls with one high-water mark buffered`, () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* TcpServer.make(0)
      // The peer reads into one buffer of its own, so that what it receives makes no garbage.
      let received = 0
      const url = new URL(server.address)
      const peer = net.connect({
        host: url.hostname,
        port: Number(url.port),
        onread: { buffer: Buffer.alloc(CHUNK), callback: (n) => (received += n) > 0 }
      })
      peer.on("error", () => {})
      yield* Effect.addFinalizer(() => Effect.sync(() => peer.destroy()))
      peer.pause()
      const connection = Chunk.unsafeHead(yield* Stream.runCollect(Stream.take(server.connections, 1)))
      const socket = NodeConnection.socketOf(connection)!
      const rss = process.memoryUsage.rss()
      const maxBuffered = yield* peak(() => socket.writableLength)
      const maxRss = yield* peak(() => process.memoryUsage.rss())
      const handed = yield* Ref.make(0)
      const writer = yield* Stream.range(0, TOTAL / CHUNK - 1).pipe(
        Stream.map((i) => ring[i % ring.length]!),
        Stream.tap((chunk) => Ref.update(handed, (n) => n + chunk.length)),
        Stream.run(connection.sink),
        Effect.fork
      )
      const before = yield* stalled(Ref.get(handed), 300)
      // What the kernel's send and receive buffers hold, and no more.
      assert.isBelow(before, 32 * MiB, "bytes accepted while the peer did not read")
      assert.isNull(writer.unsafePoll())
      // The peer reads now, and every byte arrives.
      const ended = Effect.async<void>((resume) => void peer.once("end", () => resume(Effect.void)))
      peer.resume()
      yield* Fiber.join(writer)
      yield* ended
      assert.strictEqual(received, TOTAL)
      assert.isAtMost(yield* maxBuffered, writableHighWaterMark() + CHUNK, "largest socket.writableLength")
      assert.isBelow((yield* maxRss) - rss, RSS_CEILING, "RSS growth")
    })), TIMEOUT)

  it.live(`writing ${TOTAL / MiB} MiB over TLS to a peer that does not read stalls with one high-water mark buffered`, () =>
    Effect.scoped(Effect.gen(function*() {
      const certs = yield* certificates
      const server = yield* Effect.flatMap(TcpServer.make(0), (tcp) => TlsServer.make(tcp, { cert: certs.server.cert, key: certs.server.key }))
      const url = new URL(server.address)
      const peer = tls.connect({ host: url.hostname, port: Number(url.port), rejectUnauthorized: false })
      peer.on("error", () => {})
      peer.pause()
      yield* Effect.addFinalizer(() => Effect.sync(() => peer.destroy()))
      const connection = Chunk.unsafeHead(yield* Stream.runCollect(Stream.take(server.connections, 1)))
      const socket = NodeConnection.socketOf(connection)!
      const rss = process.memoryUsage.rss()
      const maxBuffered = yield* peak(() => socket.writableLength)
      const maxRss = yield* peak(() => process.memoryUsage.rss())
      const handed = yield* Ref.make(0)
      const writer = yield* Stream.range(0, TOTAL / CHUNK - 1).pipe(
        Stream.map((i) => ring[i % ring.length]!),
        Stream.tap((chunk) => Ref.update(handed, (n) => n + chunk.length)),
        Stream.run(connection.sink),
        Effect.fork
      )
      assert.isBelow(yield* stalled(Ref.get(handed), 300), 32 * MiB, "bytes accepted while the peer did not read")
      assert.isNull(writer.unsafePoll())
      let received = 0
      peer.on("data", (data: Buffer) => (received += data.length))
      const ended = Effect.async<void>((resume) => void peer.once("end", () => resume(Effect.void)))
      peer.resume()
      yield* Fiber.join(writer)
      yield* ended
      assert.strictEqual(received, TOTAL)
      assert.isAtMost(yield* maxBuffered, writableHighWaterMark() + CHUNK, "largest socket.writableLength")
      assert.isBelow((yield* maxRss) - rss, RSS_CEILING, "RSS growth")
    })), TIMEOUT)

  it.live(`a consumer that does not pull while the peer sends ${TOTAL / MiB} MiB pauses the socket, and then reads every byte`, () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* TcpServer.make(0)
      const client = new net.Socket()
      client.on("error", () => {})
      yield* Effect.addFinalizer(() => Effect.sync(() => client.destroy()))
      // The peer writes as fast as we let it: the next chunk once the previous one drained.
      const flood = Effect.async<void>((resume) => {
        let i = 0
        const next = () => {
          while (i < TOTAL / CHUNK) {
            const ok = client.write(ring[i++ % ring.length]!)
            if (!ok) return void client.once("drain", next)
          }
          client.end(() => resume(Effect.void))
        }
        const url = new URL(server.address)
        client.connect({ host: url.hostname, port: Number(url.port) }, next)
      })
      yield* Effect.forkScoped(flood)
      const connection = Chunk.unsafeHead(yield* Stream.runCollect(Stream.take(server.connections, 1)))
      const socket = NodeConnection.socketOf(connection)!
      const rss = process.memoryUsage.rss()
      const maxRss = yield* peak(() => process.memoryUsage.rss())
      const maxReadable = yield* peak(() => socket.readableLength)
      const pull = yield* Stream.toPull(connection.read)
      let received = Chunk.reduce(yield* pull, 0, (n, chunk) => n + chunk.length)
      const flowed = yield* stalled(Effect.sync(() => client.bytesWritten - client.writableLength), 300)
      assert.isBelow(flowed, 32 * MiB, "bytes the peer got through while nobody pulled")
      while (true) {
        const chunk = yield* Effect.option(pull)
        if (Option.isNone(chunk)) break
        received += Chunk.reduce(chunk.value, 0, (n, c) => n + c.length)
      }
      assert.strictEqual(received, TOTAL)
      assert.isAtMost(yield* maxReadable, 2 * CHUNK + writableHighWaterMark(), "largest socket.readableLength")
      assert.isBelow((yield* maxRss) - rss, RSS_CEILING, "RSS growth")
    })), TIMEOUT)

  it.live(`a server nobody pulls under a flood of ${FLOOD} clients holds at most its backlog and reports the rest`, () =>
    Effect.scoped(Effect.gen(function*() {
      const backlog = 128
      const server = yield* TcpServer.make(0, { backlog })
      const rejected = yield* Ref.make(0)
      yield* Effect.forkScoped(Stream.runForEach(server.errors, (error: ServerError) =>
        error.reason === "BacklogFull" ? Ref.update(rejected, (n) => n + 1) : Effect.die(error)))
      yield* Effect.yieldNow()
      const baseline = resources()
      const rss = process.memoryUsage.rss()
      const maxFds = yield* peak(() => resources().fds)
      const url = new URL(server.address)
      // Each client connects, sends a line, half-closes and leaves; at most 50 are open at a time.
      const client = (i: number) =>
        Effect.async<void>((resume) => {
          const socket = net.connect({ host: url.hostname, port: Number(url.port) }, () => {
            socket.end(`client ${i}\n`, () => {
              socket.destroy()
              resume(Effect.void)
            })
          })
          socket.on("error", () => {})
          return Effect.sync(() => socket.destroy())
        })
      yield* Effect.forEach(Array.from({ length: FLOOD }, (_, i) => i), client, { concurrency: 50, discard: true })
      yield* Ref.get(rejected).pipe(Effect.repeat({ until: (n) => n >= FLOOD - backlog, schedule: Schedule.spaced("10 millis") }), Effect.timeout("10 seconds"))
      assert.strictEqual(yield* Ref.get(rejected), FLOOD - backlog)
      assert.isAtMost((yield* maxFds) - baseline.fds, backlog + 50 + 8, "open descriptors beyond the baseline")
      assert.isBelow(process.memoryUsage.rss() - rss, RSS_CEILING, "RSS growth")
      // The first `backlog` clients were held, their bytes intact.
      const held = yield* Stream.toPull(server.connections).pipe(Effect.flatMap((pull) => pull))
      assert.strictEqual(Chunk.size(held), backlog)
      const lines = yield* Effect.forEach(held, (connection) => Effect.map(readAll(connection), String))
      for (const line of lines) assert.match(line, /^client \d+\n$/)
      assert.strictEqual(new Set(lines).size, backlog)
      // And the server goes on serving.
      yield* serveInBackground(server, echo)
      const reply = yield* Effect.scoped(Effect.gen(function*() {
        const connection = yield* TcpConnector.connect(server.address)
        yield* connection.write("still serving\n")
        return String(yield* readAtLeast(connection, 14))
      }))
      assert.strictEqual(reply, "still serving\n")
    })), TIMEOUT)
})
