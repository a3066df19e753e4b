/**
 * The tuned hot paths of Node connections and servers (docs/performance.md): reads through one
 * buffer shared by every socket of the process, copied out before anyone else reads; waits for
 * bytes and for connections without cancelers, so an interrupted wait must lose nothing.
 */
import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as TcpServer from "@effect-socket/node/TcpServer"
import type { Connection } from "@effect-socket/socket/Connection"
import type { Server } from "@effect-socket/socket/Server"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import * as net from "node:net"

const accept = (server: Server): Effect.Effect<Connection> =>
  Effect.flatMap(Stream.runHead(server.connections), Option.match({
    onNone: () => Effect.dieMessage("no connection"),
    onSome: Effect.succeed
  })).pipe(Effect.orDie)

/** Every chunk the stream gives, kept (not concatenated) until the end, then joined. */
const keepAll = (connection: Connection) =>
  Effect.map(Stream.runCollect(connection.read), (chunks) => Buffer.concat(Chunk.toArray(chunks)))

/** Writes `data` from a plain node:net socket in 100 KiB pieces, then ends. */
const sendRaw = (socket: net.Socket, data: Buffer) =>
  Effect.async<void>((resume) => {
    for (let offset = 0; offset < data.length; offset += 100 * 1024) socket.write(data.subarray(offset, offset + 100 * 1024))
    socket.end(() => resume(Effect.void))
  })

const rawClient = (address: string) =>
  Effect.acquireRelease(
    Effect.async<net.Socket>((resume) => {
      const port = Number(address.slice(address.lastIndexOf(":") + 1))
      const socket = net.connect({ host: "127.0.0.1", port }, () => resume(Effect.succeed(socket)))
    }),
    (socket) => Effect.sync(() => socket.destroy())
  )

describe("read path", () => {
  it.scopedLive("chunks a server reader keeps stay intact while other connections read", () =>
    Effect.gen(function*() {
      const server = yield* TcpServer.make(0)
      const first = crypto.randomBytes(3 * 1024 * 1024)
      const second = crypto.randomBytes(3 * 1024 * 1024)
      const a = yield* rawClient(server.address)
      const accepted = yield* accept(server)
      const b = yield* rawClient(server.address)
      const acceptedB = yield* accept(server)
      const readers = yield* Effect.all([keepAll(accepted), keepAll(acceptedB)], { concurrency: 2 }).pipe(Effect.fork)
      yield* Effect.all([sendRaw(a, first), sendRaw(b, second)], { concurrency: 2 })
      const [gotFirst, gotSecond] = yield* Fiber.join(readers)
      assert.isTrue(gotFirst.equals(first))
      assert.isTrue(gotSecond.equals(second))
    }))

  it.scopedLive("chunks a client reader keeps stay intact", () =>
    Effect.gen(function*() {
      const data = crypto.randomBytes(3 * 1024 * 1024)
      const server = yield* Effect.acquireRelease(
        Effect.async<net.Server>((resume) => {
          const server = net.createServer((socket) => {
            for (let offset = 0; offset < data.length; offset += 64 * 1024) socket.write(data.subarray(offset, offset + 64 * 1024))
            socket.end()
          })
          server.listen(0, "127.0.0.1", () => {
            resume(Effect.succeed(server))
          })
        }),
        (server) =>
          Effect.async<void>((resume) => {
            server.close(() => resume(Effect.void))
          })
      )
      const port = (server.address() as net.AddressInfo).port
      const client = yield* TcpConnector.connect(`tcp://127.0.0.1:${port}`)
      const got = yield* keepAll(client)
      assert.isTrue(got.equals(data))
    }))

  it.scopedLive("a pull interrupted while it waits loses none of the bytes that arrive after", () =>
    Effect.gen(function*() {
      const server = yield* TcpServer.make(0)
      const client = yield* TcpConnector.connect(server.address)
      const accepted = yield* accept(server)
      const pull = yield* Stream.toPull(accepted.read)
      const waiting = yield* Effect.fork(pull)
      yield* Effect.sleep("20 millis")
      yield* Fiber.interrupt(waiting)
      yield* client.write("after the interruption")
      yield* Effect.sleep("20 millis")
      const chunk = yield* pull.pipe(Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => "the bytes were lost" }))
      assert.strictEqual(Buffer.concat(Chunk.toArray(chunk)).toString(), "after the interruption")
    }))

  it.scopedLive("a pull of connections interrupted while it waits loses none of the connections that arrive after", () =>
    Effect.gen(function*() {
      const server = yield* TcpServer.make(0)
      const pull = yield* Stream.toPull(server.connections)
      const waiting = yield* Effect.fork(pull)
      yield* Effect.sleep("20 millis")
      yield* Fiber.interrupt(waiting)
      const client = yield* TcpConnector.connect(server.address)
      yield* Effect.sleep("20 millis")
      const chunk = yield* pull.pipe(Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => "the connection was lost" }))
      const accepted = Chunk.toArray(chunk)
      assert.strictEqual(accepted.length, 1)
      assert.deepStrictEqual(accepted[0]!.remoteAddress, client.localAddress)
    }))
})
