/**
 * `Connection.pipeTo` over real loopback sockets: the fast path between socket connections (TCP
 * and TLS, in any mix) and the generic loop between sockets and memory pairs. Intent of
 * ReactPHP's `pipe()` (reactphp/stream `Util::pipe`): data forwarded intact, the source paused
 * while the destination is full, the destination ended after the source unless `end: false`.
 * The outer peers are raw `node:net` sockets, so that the library cannot hide its own bugs.
 */
import * as TcpServer from "@effect-socket/node/TcpServer"
import * as Connection from "@effect-socket/socket/Connection"
import * as Server from "@effect-socket/socket/Server"
import type { ConnectionError } from "@effect-socket/socket/SocketError"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import { createHash, randomBytes } from "node:crypto"
import type * as net from "node:net"
import { Readable } from "node:stream"
import * as Certificates from "./fixtures/certificates.js"
import { accept, collectBytes, socketOf } from "./fixtures/connections.js"
import { connectWith, tlsConnector, tlsServer } from "./fixtures/helpers.js"
import { closed, eventually, rawConnect, readAll, realSleep } from "./fixtures/net.js"

const KiB = 1024
const MiB = 1024 * KiB

/** Random bytes, reused: payloads are slices of it at shifting offsets and sizes. */
const noise = randomBytes(MiB)

/** `total` bytes of random data in pieces of 1 to 128 KiB (deterministic for a given `seed`). */
function* payload(total: number, seed = 1) {
  let sent = 0
  for (let i = seed; sent < total; i++) {
    const size = Math.min(total - sent, ((i * 7919) % (128 * KiB)) + 1)
    const offset = (i * 104729) % (noise.length - size)
    sent += size
    yield noise.subarray(offset, offset + size)
  }
}

const sha256 = (chunks: Iterable<Uint8Array>) => {
  const hash = createHash("sha256")
  for (const chunk of chunks) hash.update(chunk)
  return hash.digest("hex")
}

/** Sends a payload from a raw socket with its own backpressure, then half-closes. */
const send = (socket: net.Socket, total: number, seed?: number) =>
  Effect.acquireRelease(
    Effect.sync(() => Readable.from(payload(total, seed)).pipe(socket)),
    (source) => Effect.sync(() => source.destroy())
  )

/** What a raw socket receives until the peer's FIN: byte count and SHA-256. */
const received = (socket: net.Socket) =>
  Effect.map(readAll(socket), (bytes) => ({ bytes: bytes.length, sha256: sha256([bytes]) }))

const expected = (total: number, seed?: number) => ({ bytes: total, sha256: sha256(payload(total, seed)) })

/** A TCP server's accepted connection and the raw peer connected to it (which half-closes only when told to). */
const tcpEnd = Effect.gen(function*() {
  const server = yield* TcpServer.make(0)
  const peer = yield* rawConnect(server.address, { allowHalfOpen: true })
  const connection = yield* accept(server)
  return { peer, connection }
})

const failure = (effect: Effect.Effect<void, ConnectionError>) =>
  Effect.flatMap(Effect.exit(effect), (exit) =>
    Exit.isFailure(exit) && exit.cause._tag === "Fail"
      ? Effect.succeed(exit.cause.error)
      : Effect.dieMessage(`expected a typed failure, got ${String(exit)}`))

let certs: Certificates.Certificates
beforeAll(() => {
  certs = Certificates.generate()
})
afterAll(() => Certificates.remove(certs))

describe("Connection.pipeTo over sockets", () => {
  it.scoped("pipeTo(c, c) echoes 8 MiB intact, then sends FIN after the peer's", () =>
    Effect.gen(function*() {
      const { connection, peer } = yield* tcpEnd
      const echo = yield* Effect.fork(Connection.pipeTo(connection, connection))
      const back = yield* Effect.fork(received(peer))
      yield* send(peer, 8 * MiB)
      assert.deepStrictEqual(yield* Fiber.join(back), expected(8 * MiB))
      yield* Fiber.join(echo)
    }))

  it.scoped("proxies both directions with 64 MiB and 16 MiB intact; each FIN is passed on alone (half-close)", () =>
    Effect.gen(function*() {
      const a = yield* tcpEnd
      const b = yield* tcpEnd
      const forward = yield* Effect.fork(Connection.pipeTo(a.connection, b.connection))
      const backward = yield* Effect.fork(pipe(b.connection, a.connection))
      const atB = yield* Effect.fork(received(b.peer))
      const atA = yield* Effect.fork(received(a.peer))
      yield* send(a.peer, 64 * MiB, 1)
      assert.deepStrictEqual(yield* Fiber.join(atB), expected(64 * MiB, 1))
      yield* Fiber.join(forward)
      // One direction is closed; the other still carries data, then its own FIN.
      assert.isFalse(b.peer.writableEnded)
      yield* send(b.peer, 16 * MiB, 2)
      assert.deepStrictEqual(yield* Fiber.join(atA), expected(16 * MiB, 2))
      yield* Fiber.join(backward)
    }))

  it.scoped("backpressure: a destination whose peer does not read stalls the source's peer; this process holds < 1 MiB", () =>
    Effect.gen(function*() {
      const total = 64 * MiB
      const source = yield* tcpEnd
      const destination = yield* tcpEnd
      const ours = socketOf(destination.connection)
      destination.peer.pause()
      const piping = yield* Effect.fork(Connection.pipeTo(source.connection, destination.connection))
      const before = process.memoryUsage()
      yield* send(source.peer, total)

      // Sampled every 10 ms until the source's peer stops getting bytes out.
      let peak = 0
      let last = -1
      for (let still = 0; still < 20;) {
        yield* realSleep(10)
        peak = Math.max(peak, ours.writableLength)
        const now = socketOf(source.connection).bytesRead
        still = now === last ? still + 1 : 0
        last = now
      }
      const after = process.memoryUsage()
      assert.isBelow(last, total / 2, "the source's peer was never stalled")
      assert.isAtMost(peak, ours.writableHighWaterMark + 256 * KiB + 64 * KiB, "bytes held in the destination's buffer")
      assert.isBelow(after.arrayBuffers - before.arrayBuffers, 16 * MiB, "ArrayBuffer growth")

      const atDestination = yield* Effect.fork(received(destination.peer))
      assert.deepStrictEqual(yield* Fiber.join(atDestination), expected(total))
      yield* Fiber.join(piping)
    }))

  it.scoped("end: false leaves the destination writable after the source's FIN", () =>
    Effect.gen(function*() {
      const source = yield* tcpEnd
      const destination = yield* tcpEnd
      source.peer.end("piped")
      yield* Connection.pipeTo(source.connection, destination.connection, { end: false })
      assert.isFalse(socketOf(destination.connection).writableEnded)
      yield* destination.connection.write(", then written")
      yield* destination.connection.end
      assert.strictEqual((yield* readAll(destination.peer)).toString(), "piped, then written")
    }))

  it.scoped("a reset of the source's peer fails the pipe with the Read error pull gives", () =>
    Effect.gen(function*() {
      const source = yield* tcpEnd
      const destination = yield* tcpEnd
      const piping = yield* Effect.fork(Connection.pipeTo(source.connection, destination.connection))
      yield* realSleep(20)
      source.peer.resetAndDestroy()
      const error = yield* failure(Fiber.join(piping))
      assert.strictEqual(error.reason, "Read")
      assert.strictEqual(error.code, "ECONNRESET")
      assert.strictEqual(error.message, (yield* failure(Effect.asVoid(source.connection.pull))).message)
    }))

  it.scoped("a reset of the destination's peer fails the pipe with a Write error", () =>
    Effect.gen(function*() {
      const source = yield* tcpEnd
      const destination = yield* tcpEnd
      const piping = yield* Effect.fork(Connection.pipeTo(source.connection, destination.connection))
      destination.peer.resetAndDestroy()
      yield* closed(destination.peer)
      yield* send(source.peer, 64 * MiB)
      const error = yield* failure(Fiber.join(piping))
      assert.strictEqual(error.reason, "Write")
      assert.include(["EPIPE", "ECONNRESET"], error.code)
    }))

  it.scoped("closing the destination fails the pipe with Closed (EPIPE), as write does", () =>
    Effect.gen(function*() {
      const source = yield* tcpEnd
      const destination = yield* tcpEnd
      const piping = yield* Effect.fork(Connection.pipeTo(source.connection, destination.connection))
      yield* realSleep(20)
      yield* destination.connection.close
      // The fast path fails at once; the generic loop at its next write.
      source.peer.write("x")
      const error = yield* failure(Fiber.join(piping))
      assert.strictEqual(error.reason, "Closed")
      assert.strictEqual(error.code, "EPIPE")
      assert.strictEqual(error.message, (yield* failure(destination.connection.write("x"))).message)
    }))

  it.scoped("interrupted mid-way, it leaves both open and no byte is lost: the rest is read with pull", () =>
    Effect.gen(function*() {
      const total = 32 * MiB
      const source = yield* tcpEnd
      const destination = yield* tcpEnd
      destination.peer.pause()
      const piping = yield* Effect.fork(Connection.pipeTo(source.connection, destination.connection))
      yield* send(source.peer, total)
      const ours = socketOf(source.connection)
      yield* eventually(() => ours.bytesRead > MiB, "some bytes were piped")
      yield* realSleep(50)
      yield* Fiber.interrupt(piping)
      assert.isTrue(Option.isSome(source.connection.remoteAddress))

      // Both stay usable: the destination flushes and ends, the source is read to its end.
      const atDestination = yield* Effect.fork(readAll(destination.peer))
      yield* destination.connection.write("")
      yield* destination.connection.end
      const piped = yield* Fiber.join(atDestination)
      const rest = yield* collectBytes(source.connection.read)
      assert.isAbove(piped.length, 0)
      assert.isAbove(rest.length, 0, "the pipe took everything before it was interrupted")
      assert.strictEqual(piped.length + rest.length, total)
      assert.strictEqual(sha256([piped, rest]), sha256(payload(total)))
    }))

  it.scoped("interrupted while idle, it forwards nothing that arrives later: the next pull gets it", () =>
    Effect.gen(function*() {
      const source = yield* tcpEnd
      const destination = yield* tcpEnd
      const piping = yield* Effect.fork(Connection.pipeTo(source.connection, destination.connection))
      source.peer.write("a")
      assert.strictEqual((yield* Effect.async<Buffer>((resume) => {
        destination.peer.once("data", (data: Buffer) => resume(Effect.succeed(data)))
      })).toString(), "a")
      yield* Fiber.interrupt(piping)
      source.peer.write("b")
      yield* eventually(() => socketOf(source.connection).bytesRead === 2, "b reached the source")
      const atDestination = yield* Effect.fork(readAll(destination.peer))
      yield* realSleep(20)
      yield* destination.connection.end
      assert.strictEqual((yield* Fiber.join(atDestination)).length, 0)
      const next = yield* source.connection.pull
      assert.strictEqual(Buffer.concat(Array.from(Option.getOrThrow(next))).toString(), "b")
    }))

  it.scoped("uninterruptible, it runs to the source's end though its fiber is interrupted meanwhile", () =>
    Effect.gen(function*() {
      const source = yield* tcpEnd
      const destination = yield* tcpEnd
      const piping = yield* Effect.fork(Effect.uninterruptible(Connection.pipeTo(source.connection, destination.connection)))
      yield* realSleep(20)
      const interrupting = yield* Effect.fork(Fiber.interrupt(piping))
      yield* realSleep(20)
      assert.isNull(interrupting.unsafePoll(), "the interruption waits for the pipe")
      const atDestination = yield* Effect.fork(readAll(destination.peer))
      source.peer.end("after the interruption")
      assert.strictEqual((yield* Fiber.join(atDestination)).toString(), "after the interruption")
      // The pipe completed, then the fiber took its interruption.
      assert.isTrue(Exit.isInterrupted(yield* Fiber.join(interrupting)))
    }))

  it.scoped("one reader: a pull started during a pipe takes over and the pipe fails with EBUSY", () =>
    Effect.gen(function*() {
      const source = yield* tcpEnd
      const destination = yield* tcpEnd
      const piping = yield* Effect.fork(Connection.pipeTo(source.connection, destination.connection))
      yield* realSleep(20)
      const pulling = yield* Effect.fork(source.connection.pull)
      const error = yield* failure(Fiber.join(piping))
      assert.strictEqual(error.code, "EBUSY")
      source.peer.write("x")
      assert.strictEqual(Buffer.concat(Array.from(Option.getOrThrow(yield* Fiber.join(pulling)))).toString(), "x")
    }))

  it.scoped("one reader: a pipe started while a pull waits takes over and the pull fails with EBUSY", () =>
    Effect.gen(function*() {
      const source = yield* tcpEnd
      const destination = yield* tcpEnd
      const pulling = yield* Effect.fork(source.connection.pull)
      yield* realSleep(20)
      const piping = yield* Effect.fork(Connection.pipeTo(source.connection, destination.connection))
      assert.strictEqual((yield* failure(Effect.asVoid(Fiber.join(pulling)))).code, "EBUSY")
      source.peer.end("y")
      yield* Fiber.join(piping)
      assert.strictEqual((yield* readAll(destination.peer)).toString(), "y")
    }))

  it.scoped("TLS to plain and plain to TLS: 8 MiB each way intact", () =>
    Effect.gen(function*() {
      const server = yield* tlsServer({ pem: certs.server.pem })
      const accepted = yield* Queue.unbounded<Connection.Connection>()
      yield* Effect.forkScoped(Server.serve(server, (c) => Effect.zipRight(Queue.offer(accepted, c), Effect.never)))
      const tls = yield* connectWith(tlsConnector({ ca: certs.ca }), `${server.address}?hostname=localhost`)
      const tlsPeer = yield* Queue.take(accepted)
      const plain = yield* tcpEnd
      const toTls = yield* Effect.fork(Connection.pipeTo(plain.connection, tls))
      const fromTls = yield* Effect.fork(Connection.pipeTo(tls, plain.connection))

      yield* send(plain.peer, 8 * MiB, 3)
      const atTlsPeer = yield* collectBytes(tlsPeer.read)
      assert.deepStrictEqual({ bytes: atTlsPeer.length, sha256: sha256([atTlsPeer]) }, expected(8 * MiB, 3))
      yield* Fiber.join(toTls)

      const atPlainPeer = yield* Effect.fork(received(plain.peer))
      for (const piece of payload(8 * MiB, 4)) yield* tlsPeer.write(piece)
      yield* tlsPeer.end
      assert.deepStrictEqual(yield* Fiber.join(atPlainPeer), expected(8 * MiB, 4))
      yield* Fiber.join(fromTls)
    }))

  it.scoped("generic path between a socket and a memory pair: socket -> memory -> echo -> memory -> socket", () =>
    Effect.gen(function*() {
      const { connection, peer } = yield* tcpEnd
      const [near, far] = yield* Connection.makePair({ highWaterMark: 16 * KiB })
      const pipes = yield* Effect.fork(Effect.all([
        Connection.pipeTo(connection, near),
        Connection.pipeTo(far, far),
        Connection.pipeTo(near, connection)
      ], { concurrency: "unbounded" }))
      const back = yield* Effect.fork(received(peer))
      yield* send(peer, 4 * MiB)
      assert.deepStrictEqual(yield* Fiber.join(back), expected(4 * MiB))
      yield* Fiber.join(pipes)
    }))
})

const pipe = (source: Connection.Connection, destination: Connection.Connection) =>
  Connection.pipeTo(destination)(source)
