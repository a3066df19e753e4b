/**
 * No leaks: connect/exchange/close cycles and connects interrupted at random points leave the
 * process's open file descriptors and active handles where they were.
 */
import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as TcpServer from "@effect-socket/node/TcpServer"
import * as UnixConnector from "@effect-socket/node/UnixConnector"
import * as UnixServer from "@effect-socket/node/UnixServer"
import type { Connection } from "@effect-socket/socket/Connection"
import { Connector } from "@effect-socket/socket/Connector"
import type { ConnectError } from "@effect-socket/socket/SocketError"
import * as TimeoutConnector from "@effect-socket/socket/TimeoutConnector"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as path from "node:path"
import { tempDir } from "../support/processes.js"
import {
  blackhole,
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

interface Tally {
  completed: number
  interrupted: number
}

/**
 * Starts `connect` (holding the connection until its scope closes) `INTERRUPTIONS` times and
 * interrupts it at a random point; returns how many attempts completed first and how many were
 * interrupted, and asserts that no attempt failed and nothing is left open.
 */
const interruptions = (connect: Connect, count = INTERRUPTIONS) =>
  Effect.gen(function*() {
    yield* Effect.scoped(connect)
    const baseline = resources()
    const tally: Tally = { completed: 0, interrupted: 0 }
    for (const [i, point] of interruptionPoints(count).entries()) {
      const fiber = yield* Effect.fork(Effect.scoped(Effect.flatMap(connect, (connection) => connection.write("x"))))
      yield* waitUntil(point)
      const exit = yield* Fiber.interrupt(fiber)
      if (Exit.isSuccess(exit)) tally.completed++
      else if (Cause.isInterruptedOnly(exit.cause)) tally.interrupted++
      else assert.fail(`attempt ${i} (seed ${SEED}, ${JSON.stringify(point)}) failed: ${Cause.pretty(exit.cause)}`)
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

describe("no leaks", () => {
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
      assert.isAbove(tally.interrupted + tally.completed, 0)
    })), TIMEOUT)

  it.live(`${INTERRUPTIONS} TCP connects pending in SYN_SENT, interrupted at random points`, () =>
    Effect.scoped(Effect.gen(function*() {
      const address = yield* blackhole
      const connect = TcpConnector.connect(address)
      const baseline = resources()
      for (const [i, point] of interruptionPoints(INTERRUPTIONS).entries()) {
        const fiber = yield* Effect.fork(Effect.scoped(connect))
        yield* waitUntil(point)
        const exit = yield* Fiber.interrupt(fiber)
        assert.isTrue(Exit.isInterrupted(exit), `attempt ${i} (seed ${SEED}, ${JSON.stringify(point)}) ended ${String(exit)}`)
      }
      assert.strictEqual(yield* settle(baseline), "", `left open after ${INTERRUPTIONS} interrupted connects (seed ${SEED})`)
    })), TIMEOUT)

  it.live(`${INTERRUPTIONS} TimeoutConnector timeouts of pending TCP connects, and as many interruptions`, () =>
    Effect.scoped(Effect.gen(function*() {
      const address = yield* blackhole
      const tcp = Connector.of({ connect: (uri) => TcpConnector.connect(uri) })
      const baseline = resources()
      for (const [i, point] of interruptionPoints(INTERRUPTIONS).entries()) {
        // The deadline falls at a random point too (1 to 6 ms), before or after the interruption.
        const connector = TimeoutConnector.withTimeout(tcp, 1 + (i % 6))
        const fiber = yield* Effect.fork(Effect.scoped(connector.connect(address)))
        yield* waitUntil(point)
        const exit = yield* Fiber.interrupt(fiber)
        if (Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)) {
          const error = Cause.failureOption(exit.cause)
          const timedOut = Option.isSome(error) && error.value.reason === "Timeout" && error.value.code === "ETIMEDOUT"
          assert.isTrue(timedOut, `attempt ${i} (seed ${SEED}): ${Cause.pretty(exit.cause)}`)
        } else {
          assert.isTrue(Exit.isInterrupted(exit), `attempt ${i} (seed ${SEED}) ended ${String(exit)}`)
        }
      }
      assert.strictEqual(yield* settle(baseline), "", `left open after ${INTERRUPTIONS} timeouts and interruptions (seed ${SEED})`)
    })), TIMEOUT)

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
