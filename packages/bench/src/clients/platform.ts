import * as NodeSocket from "@effect/platform-node/NodeSocket"
import type * as Socket from "@effect/platform/Socket"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import { EYEBALLS_HOST, HOST } from "../protocol.js"
import type { ClientImpl, MeasureWindow } from "./client.js"
import { eyeballsLookup, payload } from "./client.js"

const open = (port: number) => NodeSocket.makeNet({ host: HOST, port, noDelay: true })

/**
 * Runs `socket.run(onData)` in the background and `body` with its writer; the writer's scope
 * closing half-closes the socket. Waits for the server to finish the connection.
 */
const session = <E>(
  socket: Socket.Socket,
  onData: (data: Uint8Array) => Effect.Effect<void, Socket.SocketError> | void,
  body: (write: (data: Uint8Array) => Effect.Effect<void, Socket.SocketError>) => Effect.Effect<void, E>
) =>
  Effect.gen(function*() {
    const reader = yield* Effect.fork(socket.run(onData))
    yield* Effect.scoped(Effect.flatMap(socket.writer, body))
    yield* Fiber.join(reader)
  })

const pingPongOne = (port: number, message: Buffer, window: MeasureWindow) =>
  Effect.gen(function*() {
    const socket = yield* open(port)
    const finished = yield* Deferred.make<void>()
    let received = 0
    let sentAt = 0
    let write: (data: Uint8Array) => Effect.Effect<void, Socket.SocketError> = () => Effect.void
    const send = () => {
      sentAt = performance.now()
      return write(message)
    }
    yield* session(
      socket,
      (data) => {
        received += data.length
        if (received < message.length) return
        received -= message.length
        window.done(sentAt)
        if (window.running) return send()
        Deferred.unsafeDone(finished, Effect.void)
      },
      (writer) => {
        write = writer
        return Effect.zipRight(send(), Deferred.await(finished))
      }
    )
  })

const connectOnce = (port: number, byte: Buffer) =>
  Effect.gen(function*() {
    const socket = yield* open(port)
    const echoed = yield* Deferred.make<void>()
    yield* session(
      socket,
      () => {
        Deferred.unsafeDone(echoed, Effect.void)
      },
      (write) => Effect.zipRight(write(byte), Deferred.await(echoed))
    )
  })

const connRateOne = (port: number, byte: Buffer, window: MeasureWindow) =>
  Effect.gen(function*() {
    while (window.running) {
      const startedAt = performance.now()
      yield* connectOnce(port, byte)
      window.done(startedAt)
    }
  })

const parallel = <E>(n: number, task: () => Effect.Effect<void, E>) =>
  Effect.runPromise(Effect.forEach(Array.from({ length: n }), task, { concurrency: "unbounded", discard: true }))

/** `@effect/platform-node`'s `NodeSocket.makeNet`: `run(handler)` to read, `writer` to write. */
export const platformClient: ClientImpl = {
  bulk: ({ bytes, chunk, port, tls }) => {
    if (tls !== undefined) return Promise.reject(new Error("@effect/platform-node has no TLS socket client"))
    const data = payload(chunk)
    const startedAt = performance.now()
    return Effect.runPromise(Effect.gen(function*() {
      const socket = yield* open(port)
      yield* session(socket, () => {}, (write) =>
        Effect.gen(function*() {
          for (let sent = 0; sent < bytes; sent += data.length) yield* write(data)
        }))
      return { elapsedMs: performance.now() - startedAt }
    }))
  },
  pingPong: ({ connections, port, size, window }) =>
    parallel(connections, () => pingPongOne(port, payload(size), window)),
  connRate: ({ concurrency, port, tls, window }) =>
    tls !== undefined
      ? Promise.reject(new Error("@effect/platform-node has no TLS socket client"))
      : parallel(concurrency, () => connRateOne(port, payload(1), window)),
  // makeNet hands its options to net.connect: Node's own autoSelectFamily is what a user gets.
  eyeballs: (port, attempts) =>
    Effect.runPromise(Effect.gen(function*() {
      const connectMs: Array<number> = []
      for (let i = 0; i < attempts; i++) {
        const startedAt = performance.now()
        const socket = yield* NodeSocket.makeNet({ host: EYEBALLS_HOST, port, autoSelectFamily: true, lookup: eyeballsLookup })
        const connected = yield* Deferred.make<number>()
        const reader = yield* Effect.fork(socket.run(() => {}, {
          onOpen: Effect.suspend(() => Deferred.succeed(connected, performance.now() - startedAt))
        }))
        connectMs.push(yield* Deferred.await(connected))
        yield* Fiber.interrupt(reader)
      }
      return { connectMs }
    }))
}
