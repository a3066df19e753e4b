import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as TlsConnector from "@effect-socket/node/TlsConnector"
import type { Connection } from "@effect-socket/socket/Connection"
import { Connector } from "@effect-socket/socket/Connector"
import * as HappyEyeballsConnector from "@effect-socket/socket/HappyEyeballsConnector"
import type { Resolver } from "@effect-socket/socket/Resolver"
import type { ConnectError } from "@effect-socket/socket/SocketError"
import type * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import { EYEBALLS_HOST, HOST } from "../protocol.js"
import type { TlsTrust } from "../protocol.js"
import type { ClientImpl, MeasureWindow } from "./client.js"
import { eyeballsAddresses, payload } from "./client.js"

type Connect = (uri: string) => Effect.Effect<Connection, ConnectError, Scope.Scope>

const byteLength = (chunk: Chunk.Chunk<Uint8Array>) => {
  let n = 0
  for (const data of chunk) n += data.length
  return n
}

/** Reads with `connection.pull` until `size` bytes have arrived (an end before that is a failure). */
const readExactly = (connection: Connection, size: number) =>
  Effect.gen(function*() {
    let received = 0
    while (received < size) {
      const pulled = yield* connection.pull
      if (Option.isNone(pulled)) return yield* Effect.dieMessage(`connection ended after ${received} of ${size} bytes`)
      received += byteLength(pulled.value)
    }
  })

/** Reads and drops everything until the peer half-closes. */
const drain = (connection: Connection) =>
  Effect.gen(function*() {
    while (Option.isSome(yield* connection.pull)) {
      // dropped
    }
  })

/** `TcpConnector.connect`, or a `TlsConnector` over it trusting `trust.ca` (built once per CA). */
const tlsConnectors = new Map<string, Connect>()
const connectorFor = (trust: TlsTrust | undefined): Connect => {
  if (trust === undefined) return TcpConnector.connect
  let connect = tlsConnectors.get(trust.ca)
  if (connect === undefined) {
    const connector = Effect.runSync(
      Effect.provide(Connector, TlsConnector.layer({ ca: trust.ca, minVersion: "TLSv1.3" }).pipe(Layer.provide(TcpConnector.layer)))
    )
    connect = connector.connect
    tlsConnectors.set(trust.ca, connect)
  }
  return connect
}

const uriOf = (port: number, trust: TlsTrust | undefined) => `${trust === undefined ? "tcp" : "tls"}://${HOST}:${port}`

const pingPongOne = (uri: string, message: Buffer, window: MeasureWindow) =>
  Effect.scoped(Effect.gen(function*() {
    const connection = yield* TcpConnector.connect(uri)
    while (window.running) {
      const sentAt = performance.now()
      yield* connection.write(message)
      yield* readExactly(connection, message.length)
      window.done(sentAt)
    }
    yield* connection.end
  }))

const connectOnce = (connect: Connect, uri: string, byte: Buffer) =>
  Effect.scoped(Effect.gen(function*() {
    const connection = yield* connect(uri)
    yield* connection.write(byte)
    yield* readExactly(connection, 1)
    yield* connection.end
    yield* drain(connection)
  }))

const connRateOne = (connect: Connect, uri: string, byte: Buffer, window: MeasureWindow) =>
  Effect.gen(function*() {
    while (window.running) {
      const startedAt = performance.now()
      yield* connectOnce(connect, uri, byte)
      window.done(startedAt)
    }
  })

const parallel = <E>(n: number, task: () => Effect.Effect<void, E>) =>
  Effect.runPromise(Effect.forEach(Array.from({ length: n }), task, { concurrency: "unbounded", discard: true }))

/** A Resolver double: the Happy Eyeballs name has one IPv6 and one IPv4 address. */
const eyeballsResolver: Resolver["Type"] = {
  resolve: (_host, family) =>
    Effect.succeed(eyeballsAddresses.filter((entry) => entry.family === family).map((entry) => entry.address))
}

const eyeballsConnector = HappyEyeballsConnector.withResolver(Connector.of({ connect: TcpConnector.connect }), eyeballsResolver)

/** effect-socket's `TcpConnector` (`TlsConnector` over it), `pull` (request/response), `read`, `write`, `sink` and `end`. */
export const effectSocketClient: ClientImpl = {
  bulk: ({ bytes, chunk, port, tls: trust }) => {
    const data = payload(chunk)
    const connect = connectorFor(trust)
    const startedAt = performance.now()
    return Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const connection = yield* connect(uriOf(port, trust))
      yield* Stream.run(Stream.repeatValue(data).pipe(Stream.take(Math.ceil(bytes / chunk))), connection.sink)
      yield* Stream.runDrain(connection.read)
      return { elapsedMs: performance.now() - startedAt }
    })))
  },
  pingPong: ({ connections, port, size, window }) =>
    parallel(connections, () => pingPongOne(uriOf(port, undefined), payload(size), window)),
  connRate: ({ concurrency, port, tls: trust, window }) => {
    const connect = connectorFor(trust)
    return parallel(concurrency, () => connRateOne(connect, uriOf(port, trust), payload(1), window))
  },
  eyeballs: (port, attempts) =>
    Effect.runPromise(Effect.gen(function*() {
      const connectMs: Array<number> = []
      for (let i = 0; i < attempts; i++) {
        const startedAt = performance.now()
        yield* Effect.scoped(Effect.asVoid(eyeballsConnector.connect(`tcp://${EYEBALLS_HOST}:${port}`)))
        connectMs.push(performance.now() - startedAt)
      }
      return { connectMs }
    }))
}
