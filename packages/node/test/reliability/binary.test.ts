/**
 * Binary safety: random payloads of random sizes, written in randomly cut pieces (with `write`
 * or through `sink`), come back from an echo peer byte for byte, over every transport: TCP
 * (IPv4 and IPv6), Unix, TLS, and the in-memory `Connection.makePair`.
 */
import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as TcpServer from "@effect-socket/node/TcpServer"
import * as UnixConnector from "@effect-socket/node/UnixConnector"
import * as UnixServer from "@effect-socket/node/UnixServer"
import * as TlsConnector from "@effect-socket/node/TlsConnector"
import * as Connection from "@effect-socket/socket/Connection"
import { Connector } from "@effect-socket/socket/Connector"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as fc from "fast-check"
import * as path from "node:path"
import { tlsServer } from "../fixtures/helpers.js"
import { tempDir } from "../support/processes.js"
import { certificates, echo, readAll, SEED, serveInBackground, size, TIMEOUT } from "./support.js"

const RUNS = size(40, 400)
const MAX_SIZE = size(4, 32) * 1024 * 1024

/** `length` bytes from a seeded xorshift generator: every byte value, reproducible from the seed. */
const bytes = (length: number, seed: number) => {
  const out = Buffer.allocUnsafe(length)
  let x = seed | 1
  for (let i = 0; i < length; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

/** A payload: its size (mostly small or around a socket buffer, sometimes megabytes), seed, and cuts. */
const payload = fc.record({
  size: fc.oneof(
    { weight: 2, arbitrary: fc.nat(64) },
    { weight: 3, arbitrary: fc.nat(200_000) },
    { weight: 1, arbitrary: fc.nat(MAX_SIZE) }
  ),
  seed: fc.integer(),
  // Where the payload is cut into pieces, as fractions of its size.
  cuts: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
  viaSink: fc.boolean()
})

type Payload = typeof payload extends fc.Arbitrary<infer A> ? A : never

const pieces = ({ cuts, seed, size }: Payload) => {
  const data = bytes(size, seed)
  const offsets = [0, ...cuts.map((cut) => Math.floor(cut * size)).sort((a, b) => a - b), size]
  return { data, pieces: offsets.slice(1).map((end, i) => data.subarray(offsets[i], end)) }
}

/** Sends the payload's pieces on a fresh connection and checks that the echo is the same bytes. */
const roundTrip = (connect: Effect.Effect<Connection.Connection, unknown, Scope.Scope>) => (input: Payload) =>
  Effect.runPromise(Effect.scoped(Effect.gen(function*() {
    const connection = yield* connect
    const { data, pieces: parts } = pieces(input)
    const send = input.viaSink
      ? Stream.run(Stream.fromIterable(parts), connection.sink)
      : Effect.zipRight(Effect.forEach(parts, connection.write, { discard: true }), connection.end)
    const writer = yield* Effect.fork(send)
    const received = yield* readAll(connection)
    yield* Fiber.join(writer)
    assert.strictEqual(received.length, data.length, `size (seed ${SEED})`)
    assert.isTrue(received.equals(data), `bytes of ${JSON.stringify({ ...input, cuts: input.cuts.length })} (seed ${SEED})`)
  })))

const property = (connect: Effect.Effect<Connection.Connection, unknown, Scope.Scope>) =>
  Effect.promise(() => fc.assert(fc.asyncProperty(payload, roundTrip(connect)), { numRuns: RUNS, seed: SEED, endOnFailure: true }))

describe("binary safety", () => {
  it.live(`TCP: ${RUNS} random payloads round-trip byte for byte`, () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* TcpServer.make(0)
      yield* serveInBackground(server, echo)
      yield* property(TcpConnector.connect(server.address))
    })), TIMEOUT)

  it.live(`TCP over IPv6 loopback: ${RUNS} random payloads round-trip byte for byte`, () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* TcpServer.make("[::1]:0")
      yield* serveInBackground(server, echo)
      yield* property(TcpConnector.connect(server.address))
    })), TIMEOUT)

  it.live(`Unix: ${RUNS} random payloads round-trip byte for byte`, () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const server = yield* UnixServer.make(path.join(dir, "echo.sock"))
      yield* serveInBackground(server, echo)
      yield* property(UnixConnector.connect(server.address))
    })), TIMEOUT)

  it.live(`TLS: ${RUNS} random payloads round-trip byte for byte`, () =>
    Effect.scoped(Effect.gen(function*() {
      const certs = yield* certificates
      const server = yield* tlsServer({ cert: certs.server.cert, key: certs.server.key })
      yield* serveInBackground(server, echo)
      const connector = yield* Effect.provide(Connector, Layer.provide(TlsConnector.layer({ ca: certs.ca }), TcpConnector.layer))
      yield* property(connector.connect(server.address))
    })), TIMEOUT)

  it.live(`Connection.makePair: ${RUNS} random payloads round-trip byte for byte`, () =>
    property(Effect.gen(function*() {
      const [a, b] = yield* Connection.makePair()
      yield* Effect.forkScoped(echo(b))
      return a
    })), TIMEOUT)

  it.live("TCP: random text written as strings arrives as its UTF-8 bytes", () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* TcpServer.make(0)
      yield* serveInBackground(server, echo)
      const texts = fc.array(fc.string({ unit: "grapheme", maxLength: 200 }), { maxLength: 20 })
      yield* Effect.promise(() =>
        fc.assert(
          fc.asyncProperty(texts, (parts) =>
            Effect.runPromise(Effect.scoped(Effect.gen(function*() {
              const connection = yield* TcpConnector.connect(server.address)
              yield* Effect.forEach(parts, connection.write, { discard: true })
              yield* connection.end
              assert.strictEqual((yield* readAll(connection)).toString("utf8"), parts.join(""))
            })))),
          { numRuns: RUNS, seed: SEED, endOnFailure: true }
        )
      )
    })), TIMEOUT)
})
