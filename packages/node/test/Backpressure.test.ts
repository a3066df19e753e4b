/**
 * Backpressure on real loopback sockets, measured rather than timed: what this process holds
 * while a peer sends more than anyone reads, and while we send more than the peer reads.
 */
import * as TcpServer from "@effect-socket/node/TcpServer"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { createHash } from "node:crypto"
import type * as net from "node:net"
import { Readable } from "node:stream"
import { accept, socketOf } from "./fixtures/connections.js"
import { rawConnect, realSleep } from "./fixtures/net.js"

const KiB = 1024
const MiB = 1024 * KiB
const CHUNK = 64 * KiB

/** Chunk `i` of a payload: 64 KiB of one byte value, different for neighbouring chunks. */
const chunkAt = (i: number) => Buffer.alloc(CHUNK, (i * 37) & 0xff)

/** Largest chunk of {@link mixedPayload}. */
const MAX_MIXED = 96 * KiB

/**
 * `total` bytes in chunks of 1 to 96 KiB (deterministic), some below the socket's 16 KiB
 * high-water mark and some above it, so that writes complete both with and without draining.
 */
function* mixedPayload(total: number) {
  let sent = 0
  for (let i = 0; sent < total; i++) {
    const size = Math.min(total - sent, (((i * 7919) % 96) + 1) * KiB)
    sent += size
    yield Buffer.alloc(size, (i * 37) & 0xff)
  }
}

const sha256Of = (chunks: Iterable<Buffer>) => {
  const hash = createHash("sha256")
  for (const chunk of chunks) hash.update(chunk)
  return hash.digest("hex")
}

/**
 * Waits until `progress()` stops moving for 20 consecutive polls 10 ms apart (the peer is
 * stalled by TCP flow control) or reaches `limit`. Returns the last value.
 */
const settled = (progress: () => number, limit: number) =>
  Effect.gen(function*() {
    let last = -1
    let still = 0
    while (still < 20) {
      yield* realSleep(10)
      const now = progress()
      if (now >= limit) return now
      still = now === last ? still + 1 : 0
      last = now
    }
    return last
  })

/**
 * Counts and hashes what `socket` receives, pausing 5 ms after every 2 MiB: a slow reader.
 * `onData` runs at every arrival (to sample the writer's state meanwhile).
 */
const readSlowly = (socket: net.Socket, onData: () => void) =>
  Effect.async<{ readonly bytes: number; readonly sha256: string }>((resume) => {
    const hash = createHash("sha256")
    let bytes = 0
    let nextPause = 2 * MiB
    socket.on("data", (data: Buffer) => {
      bytes += data.length
      hash.update(data)
      onData()
      if (bytes >= nextPause) {
        nextPause += 2 * MiB
        socket.pause()
        setTimeout(() => socket.resume(), 5)
      }
    })
    socket.once("end", () => resume(Effect.succeed({ bytes, sha256: hash.digest("hex") })))
    socket.resume()
  })

describe("backpressure", () => {
  it.scoped("a peer sending 64 MiB to a connection nobody reads is stalled; this process reads < 4 MiB", () =>
    Effect.gen(function*() {
      const total = 64 * MiB
      const server = yield* TcpServer.make(0)
      const peer = yield* rawConnect(server.address)
      const connection = yield* accept(server)
      const ours = socketOf(connection)

      const before = process.memoryUsage()
      let produced = 0
      const source = Readable.from((function*() {
        for (let i = 0; produced < total; i++) {
          produced += CHUNK
          yield chunkAt(i)
        }
      })())
      // `pipe` honours the peer socket's own backpressure: what it cannot send stays unproduced.
      source.pipe(peer)
      yield* Effect.addFinalizer(() => Effect.sync(() => source.destroy()))

      const stalledAt = yield* settled(() => produced, total)
      const after = process.memoryUsage()
      assert.isBelow(stalledAt, total / 2, "the peer was never stalled")
      assert.isBelow(ours.bytesRead, 4 * MiB, "bytes taken from the kernel while nobody reads")
      assert.isBelow(after.rss - before.rss, 32 * MiB, "RSS growth")
      assert.isBelow(after.arrayBuffers - before.arrayBuffers, 16 * MiB, "ArrayBuffer growth")

      // Once read, everything arrives, in order.
      const hash = createHash("sha256")
      const received = yield* Stream.runFold(connection.read, 0, (bytes, chunk) => {
        hash.update(chunk)
        return bytes + chunk.length
      })
      assert.strictEqual(received, total)
      assert.strictEqual(hash.digest("hex"), sha256Of(Array.from({ length: total / CHUNK }, (_, i) => chunkAt(i))))
    }))

  it.scoped("writing 256 MiB to a slow reader never buffers more than the high-water mark and one chunk", () =>
    Effect.gen(function*() {
      const total = 256 * MiB
      const server = yield* TcpServer.make(0)
      const peer = yield* rawConnect(server.address)
      const connection = yield* accept(server)
      const ours = socketOf(connection)
      // Sampled at every write completion, and whenever the reader gets data while we wait.
      let peak = 0
      const sample = () => (peak = Math.max(peak, ours.writableLength))
      const reading = yield* Effect.fork(readSlowly(peer, sample))

      for (const chunk of mixedPayload(total)) {
        yield* connection.write(chunk)
        sample()
      }
      yield* connection.end
      const received = yield* Effect.flatten(reading.await)
      assert.isAtMost(peak, ours.writableHighWaterMark + MAX_MIXED, "bytes held in the socket's write buffer")
      assert.strictEqual(received.bytes, total)
      assert.strictEqual(received.sha256, sha256Of(mixedPayload(total)))
    }))

  it.scoped("sink writes a lazily produced 64 MiB stream within the same bound", () =>
    Effect.gen(function*() {
      const total = 64 * MiB
      const server = yield* TcpServer.make(0)
      const peer = yield* rawConnect(server.address)
      const connection = yield* accept(server)
      const ours = socketOf(connection)
      let peak = 0
      const sample = () => (peak = Math.max(peak, ours.writableLength))
      const reading = yield* Effect.fork(readSlowly(peer, sample))

      // One element per stream chunk, produced only when the sink asks for it.
      const chunks = mixedPayload(total)
      const source = Stream.repeatEffectOption(Effect.suspend(() => {
        sample()
        const next = chunks.next()
        return next.done ? Effect.fail(Option.none()) : Effect.succeed(next.value)
      }))
      yield* Stream.run(source, connection.sink)
      const received = yield* Effect.flatten(reading.await)
      assert.isAtMost(peak, ours.writableHighWaterMark + MAX_MIXED)
      assert.strictEqual(received.bytes, total)
      assert.strictEqual(received.sha256, sha256Of(mixedPayload(total)))
    }))
})
