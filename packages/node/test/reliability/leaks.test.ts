/**
 * No leaks: connect/exchange/close cycles, and connects interrupted at random points in every
 * stage (TCP handshake, TLS handshake, DNS lookup, Happy Eyeballs race, a TimeoutConnector
 * deadline), leave the process's open file descriptors and active handles where they were.
 */
import * as NodeResolver from "@effect-socket/node/NodeResolver"
import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as TcpServer from "@effect-socket/node/TcpServer"
import * as TlsConnector from "@effect-socket/node/TlsConnector"
import * as UnixConnector from "@effect-socket/node/UnixConnector"
import * as UnixServer from "@effect-socket/node/UnixServer"
import type { Connection } from "@effect-socket/socket/Connection"
import { Connector } from "@effect-socket/socket/Connector"
import * as DnsConnector from "@effect-socket/socket/DnsConnector"
import * as HappyEyeballsConnector from "@effect-socket/socket/HappyEyeballsConnector"
import type { ConnectError, ConnectionError } from "@effect-socket/socket/SocketError"
import * as TimeoutConnector from "@effect-socket/socket/TimeoutConnector"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as path from "node:path"
import * as BlackHole from "../fixtures/BlackHole.js"
import * as DnsServer from "../fixtures/DnsServer.js"
import { tlsServer } from "../fixtures/helpers.js"
import { tempDir } from "../support/processes.js"
import {
  certificates,
  echo,
  interruptionPoints,
  readAtLeast,
  resources,
  SEED,
  serveInBackground,
  settle,
  size,
  TIMEOUT,
  waitUntil
} from "./support.js"

const CYCLES = size(2_000, 10_000)
const INTERRUPTIONS = size(300, 5_000)

type Connect = Effect.Effect<Connection, ConnectError, Scope.Scope>

/** One cycle: connect, send a line, read it back, close. */
const cycle = (connect: Connect, i: number) =>
  Effect.scoped(Effect.gen(function*() {
    const connection = yield* connect
    const line = `cycle ${i}\n`
    yield* connection.write(line)
    const reply = yield* readAtLeast(connection, line.length)
    assert.strictEqual(reply.toString(), line)
  }))

/**
 * Runs `CYCLES` cycles, eight at a time, after one to warm up, and asserts that nothing is left
 * open beyond what was open after the warm-up.
 */
const cycles = (connect: Connect) =>
  Effect.gen(function*() {
    yield* cycle(connect, -1)
    const baseline = resources()
    yield* Effect.forEach(Array.from({ length: CYCLES }, (_, i) => i), (i) => cycle(connect, i), { concurrency: 8, discard: true })
    assert.strictEqual(yield* settle(baseline), "", `left open after ${CYCLES} cycles`)
  })

/** How interrupted attempts ended. */
interface Tally {
  /** Connected before the interruption (the connection was then closed with its scope). */
  completed: number
  /** Ended by the interruption: interrupted, or `Cancelled` (`ECONNABORTED`) as the TLS and DNS connectors report it. */
  interrupted: number
  /** Failed with an error `allowed` accepts (a `Timeout` under `TimeoutConnector`). */
  failed: number
  /** The interrupted attempts by the stage their `Cancelled` error names (`interrupt` when there is none). */
  stages: Record<string, number>
}

type AttemptError = ConnectError | ConnectionError

const isCancelled = (error: AttemptError) => error._tag === "ConnectError" && error.reason === "Cancelled" && error.code === "ECONNABORTED"

/**
 * Starts `connect` (writing one byte once connected, the connection held until its scope closes)
 * `count` times, interrupts it at a random point each time, and asserts that every attempt ended
 * as the {@link Tally} allows and that nothing is left open. A warm-up attempt runs first.
 */
const interruptions = (
  connect: Connect,
  options: { readonly count?: number; readonly maxSleep?: number; readonly allowed?: (error: AttemptError) => boolean } = {}
) =>
  Effect.gen(function*() {
    const count = options.count ?? INTERRUPTIONS
    yield* Effect.exit(Effect.scoped(Effect.timeout(connect, "50 millis")))
    const baseline = resources()
    const tally: Tally = { completed: 0, interrupted: 0, failed: 0, stages: {} }
    for (const [i, point] of interruptionPoints(count, { maxSleep: options.maxSleep }).entries()) {
      const fiber = yield* Effect.fork(Effect.scoped(Effect.flatMap(connect, (connection) => connection.write("x"))))
      yield* waitUntil(point)
      const exit = yield* Fiber.interrupt(fiber)
      if (Exit.isSuccess(exit)) {
        tally.completed++
        continue
      }
      const failures = Chunk.toReadonlyArray(Cause.failures(exit.cause))
      const defects = Chunk.toReadonlyArray(Cause.defects(exit.cause))
      if (defects.length === 0 && failures.every(isCancelled) && (failures.length > 0 || Cause.isInterrupted(exit.cause))) {
        tally.interrupted++
        const stage = failures.length === 0 ? "interrupt" : String((failures[0] as ConnectError).stage)
        tally.stages[stage] = (tally.stages[stage] ?? 0) + 1
      } else if (defects.length === 0 && failures.length > 0 && failures.every((e) => options.allowed?.(e) ?? false)) {
        tally.failed++
      } else {
        assert.fail(`attempt ${i} (seed ${SEED}, ${JSON.stringify(point)}) ended with: ${Cause.pretty(exit.cause)}`)
      }
    }
    assert.strictEqual(yield* settle(baseline), "", `left open after ${count} interrupted connects (seed ${SEED})`)
    return tally
  })

/** A TCP echo server on 127.0.0.1 for the duration of the scope. */
const tcpEchoServer = Effect.gen(function*() {
  const server = yield* TcpServer.make(0)
  yield* serveInBackground(server, echo)
  return server.address
})

/** A Unix echo server in a temporary directory for the duration of the scope. */
const unixEchoServer = Effect.gen(function*() {
  const dir = yield* tempDir
  const server = yield* UnixServer.make(path.join(dir, "echo.sock"))
  yield* serveInBackground(server, echo)
  return server.address
})

/** A TLS echo server and a connector that trusts it, for the duration of the scope. */
const tlsEcho = Effect.gen(function*() {
  const certs = yield* certificates
  const server = yield* tlsServer({ cert: certs.server.cert, key: certs.server.key })
  yield* serveInBackground(server, echo)
  const connector = yield* Effect.provide(Connector, Layer.provide(TlsConnector.layer({ ca: certs.ca }), TcpConnector.layer))
  return { address: server.address, connector, ca: certs.ca }
})

const tcp = Connector.of({ connect: (uri) => TcpConnector.connect(uri) })

/** A DNS server answering `script`, and a DNS or Happy Eyeballs connector over TCP that asks it. */
const resolving = (script: DnsServer.Script, wrap: "dns" | "happyEyeballs") =>
  Effect.gen(function*() {
    const dnsServer = yield* DnsServer.make(script)
    const resolver = yield* NodeResolver.make({ servers: [dnsServer.address], hostsFile: false })
    return wrap === "dns"
      ? DnsConnector.withResolver(tcp, resolver)
      : HappyEyeballsConnector.withResolver(tcp, resolver, { connectionAttemptDelay: "10 millis", resolutionDelay: "10 millis" })
  })

describe("no leaks", () => {
  describe("cycles", () => {
    it.live(`${CYCLES} TCP connect/exchange/close cycles`, () =>
      Effect.scoped(Effect.gen(function*() {
        const address = yield* tcpEchoServer
        yield* cycles(TcpConnector.connect(address))
      })), TIMEOUT)

    it.live(`${CYCLES} Unix connect/exchange/close cycles`, () =>
      Effect.scoped(Effect.gen(function*() {
        const address = yield* unixEchoServer
        yield* cycles(UnixConnector.connect(address))
      })), TIMEOUT)

    it.live(`${CYCLES} TLS connect/handshake/exchange/close cycles`, () =>
      Effect.scoped(Effect.gen(function*() {
        const { address, connector } = yield* tlsEcho
        yield* cycles(connector.connect(address))
      })), TIMEOUT)
  })

  describe("interrupted connects", () => {
    it.live(`${INTERRUPTIONS} TCP connects to a live server, interrupted at random points`, () =>
      Effect.scoped(Effect.gen(function*() {
        const address = yield* tcpEchoServer
        const tally = yield* interruptions(TcpConnector.connect(address))
        // Both sides of the race were hit: some points come before the handshake ends, some after.
        assert.isAbove(tally.interrupted, 0, `seed ${SEED}`)
        assert.isAbove(tally.completed, 0, `seed ${SEED}`)
      })), TIMEOUT)

    it.live(`${INTERRUPTIONS} Unix connects to a live server, interrupted at random points`, () =>
      Effect.scoped(Effect.gen(function*() {
        const address = yield* unixEchoServer
        const tally = yield* interruptions(UnixConnector.connect(address))
        assert.strictEqual(tally.failed, 0)
      })), TIMEOUT)

    it.live(`${INTERRUPTIONS} TCP connects pending in SYN_SENT, interrupted at random points`, () =>
      Effect.scoped(Effect.gen(function*() {
        const address = `tcp://127.0.0.1:${yield* BlackHole.make("127.0.0.1")}`
        const tally = yield* interruptions(TcpConnector.connect(address))
        assert.strictEqual(tally.interrupted, INTERRUPTIONS)
      })), TIMEOUT)

    it.live(`${INTERRUPTIONS} pending TCP connects under TimeoutConnector deadlines at random points`, () =>
      Effect.scoped(Effect.gen(function*() {
        const address = `tcp://127.0.0.1:${yield* BlackHole.make("127.0.0.1")}`
        let i = 0
        // The deadline falls at a random point too (1 to 6 ms), before or after the interruption.
        const connect = Effect.suspend(() => TimeoutConnector.withTimeout(tcp, 1 + (i++ % 6)).connect(address))
        const tally = yield* interruptions(connect, { allowed: (error) => error._tag === "ConnectError" && error.reason === "Timeout" && error.code === "ETIMEDOUT" })
        assert.strictEqual(tally.completed, 0)
        assert.isAbove(tally.failed, 0, `seed ${SEED}`)
      })), TIMEOUT)

    it.live(`${INTERRUPTIONS} TLS connects to a live server, interrupted at random points (TCP and TLS handshakes)`, () =>
      Effect.scoped(Effect.gen(function*() {
        const { address, connector } = yield* tlsEcho
        const tally = yield* interruptions(connector.connect(address), { maxSleep: 10 })
        assert.isAbove(tally.stages.interrupt ?? 0, 0, `in the TCP handshake (seed ${SEED})`)
        assert.isAbove(tally.stages["TLS handshake"] ?? 0, 0, `in the TLS handshake (seed ${SEED})`)
        assert.isAbove(tally.completed, 0, `seed ${SEED}`)
      })), TIMEOUT)

    it.live(`${INTERRUPTIONS} TLS handshakes the server never answers, interrupted or timed out at random points`, () =>
      Effect.scoped(Effect.gen(function*() {
        const { ca } = yield* tlsEcho
        // A TCP server that reads the ClientHello and says nothing.
        const silent = yield* TcpServer.make(0)
        yield* serveInBackground(silent, (connection) => Stream.runDrain(connection.read))
        const address = silent.address.replace("tcp://", "tls://")
        // Handshake deadlines of 1 to 8 ms: before or after the interruption.
        const connectors = yield* Effect.forEach(Array.from({ length: 8 }, (_, i) => i + 1), (handshakeTimeout) =>
          Effect.provide(Connector, Layer.provide(TlsConnector.layer({ ca, handshakeTimeout }), TcpConnector.layer)))
        let i = 0
        const connect = Effect.suspend(() => connectors[i++ % connectors.length]!.connect(address))
        const tally = yield* interruptions(connect, { allowed: (error) => error._tag === "ConnectError" && error.reason === "Timeout" && error.stage === "TLS handshake" })
        assert.strictEqual(tally.completed, 0)
        assert.isAbove(tally.stages["TLS handshake"] ?? 0, 0, `seed ${SEED}`)
        assert.isAbove(tally.failed, 0, `timed out (seed ${SEED})`)
      })), TIMEOUT)

    it.live(`${INTERRUPTIONS} DNS lookups never answered, interrupted at random points`, () =>
      Effect.scoped(Effect.gen(function*() {
        const connector = yield* resolving({ "silent.test": { A: { drop: true }, AAAA: { drop: true } } }, "dns")
        const tally = yield* interruptions(connector.connect("tcp://silent.test:80"))
        assert.strictEqual(tally.interrupted, INTERRUPTIONS)
        assert.isAbove(tally.stages["DNS lookup"] ?? 0, 0, `seed ${SEED}`)
      })), TIMEOUT)

    it.live(`${INTERRUPTIONS} DNS lookups answered after 0-5 ms, then TCP connects, interrupted at random points`, () =>
      Effect.scoped(Effect.gen(function*() {
        const port = new URL(yield* tcpEchoServer).port
        const script: DnsServer.Script = {}
        for (let delay = 0; delay <= 5; delay++) script[`d${delay}.test`] = { A: { answers: ["127.0.0.1"], delay } }
        const connector = yield* resolving(script, "dns")
        let i = 0
        const connect = Effect.suspend(() => connector.connect(`tcp://d${i++ % 6}.test:${port}`))
        const tally = yield* interruptions(connect, { maxSleep: 10 })
        assert.isAbove(tally.interrupted, 0, `seed ${SEED}`)
        assert.isAbove(tally.completed, 0, `seed ${SEED}`)
      })), TIMEOUT)

    it.live(`${INTERRUPTIONS} Happy Eyeballs races between two black holes, interrupted at random points`, () =>
      Effect.scoped(Effect.gen(function*() {
        const port = yield* BlackHole.make("127.0.0.1")
        yield* BlackHole.make("::1", port)
        const connector = yield* resolving({ "race.test": { A: { answers: ["127.0.0.1"] }, AAAA: { answers: ["::1"] } } }, "happyEyeballs")
        const tally = yield* interruptions(connector.connect(`tcp://race.test:${port}`), { maxSleep: 30 })
        assert.strictEqual(tally.interrupted, INTERRUPTIONS)
      })), TIMEOUT)

    it.live(`${INTERRUPTIONS} Happy Eyeballs races that IPv4 wins after IPv6 stalls, interrupted at random points`, () =>
      Effect.scoped(Effect.gen(function*() {
        const port = Number(new URL(yield* tcpEchoServer).port)
        yield* BlackHole.make("::1", port)
        const connector = yield* resolving({ "race.test": { A: { answers: ["127.0.0.1"] }, AAAA: { answers: ["::1"] } } }, "happyEyeballs")
        const tally = yield* interruptions(connector.connect(`tcp://race.test:${port}`), { maxSleep: 30 })
        assert.isAbove(tally.interrupted, 0, `seed ${SEED}`)
        assert.isAbove(tally.completed, 0, `seed ${SEED}`)
      })), TIMEOUT)
  })

  it.live("a server closed with connections open and held in its queue leaves nothing open", () =>
    Effect.gen(function*() {
      const baseline = resources()
      yield* Effect.scoped(Effect.gen(function*() {
        const server = yield* TcpServer.make(0)
        const connections = yield* Effect.forEach(Array.from({ length: 50 }), () => TcpConnector.connect(server.address))
        // Half are handed out (and left open), half wait in the accept queue.
        yield* Stream.runDrain(Stream.take(server.connections, 25))
        yield* Effect.forEach(connections, (connection) => connection.write("x"), { discard: true })
      }))
      assert.strictEqual(yield* settle(baseline), "")
    }), TIMEOUT)
})
