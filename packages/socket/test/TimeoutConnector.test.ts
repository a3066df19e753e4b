import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import { pipe } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as Connection from "../src/Connection.js"
import * as Connector from "../src/Connector.js"
import { ConnectError } from "../src/SocketError.js"
import { pendingTimersAfter } from "./fixtures/timers.js"
import * as TimeoutConnector from "../src/TimeoutConnector.js"

/**
 * A connector double scripted with a delay and an outcome. Each attempt opens a resource in the
 * caller's scope at once (as a socket would) and records when its finalizer runs.
 */
const scripted = (delay: Duration.DurationInput, outcome: "connect" | "refuse" | "hang") => {
  const events: Array<string> = []
  const connection = Connection.unsafeMakePair()[0]
  const refused = (uri: string) =>
    new ConnectError({ reason: "Failed", uri, code: "ECONNREFUSED", stage: "TCP/IP handshake", detail: "Connection refused" })
  const connector = Connector.Connector.of({
    connect: (uri) =>
      Effect.gen(function*() {
        yield* Effect.acquireRelease(
          Effect.sync(() => events.push(`open ${uri}`)),
          () => Effect.sync(() => events.push("released"))
        )
        yield* Effect.sleep(delay)
        if (outcome === "refuse") return yield* Effect.fail(refused(uri))
        if (outcome === "hang") return yield* Effect.never
        return connection
      })
  })
  return { events, connection, connector, layer: Layer.succeed(Connector.Connector, connector) }
}

describe("TimeoutConnector", () => {
  it.scoped("fails with ETIMEDOUT at the deadline and releases what the attempt held", () =>
    Effect.gen(function*() {
      const double = scripted(Duration.infinity, "hang")
      const attempt = yield* Effect.fork(Connector.connect("tcp://10.0.0.1:80").pipe(
        Effect.provide(TimeoutConnector.layer("3 seconds").pipe(Layer.provide(double.layer)))
      ))
      yield* TestClock.adjust("2999 millis")
      assert.isTrue(Option.isNone(yield* Fiber.poll(attempt)))
      assert.deepStrictEqual(double.events, ["open tcp://10.0.0.1:80"])
      yield* TestClock.adjust("1 millis")
      const error = yield* Effect.flip(Fiber.join(attempt))
      assert.instanceOf(error, ConnectError)
      assert.strictEqual(error.reason, "Timeout")
      assert.strictEqual(error.code, "ETIMEDOUT")
      assert.strictEqual(error.message, "Connection to tcp://10.0.0.1:80 timed out after 3.0 seconds (ETIMEDOUT)")
      // Released while the caller's scope is still open, before the error was returned.
      assert.deepStrictEqual(double.events, ["open tcp://10.0.0.1:80", "released"])
    }))

  it.scoped("formats fractional timeouts with at least one decimal and up to milliseconds, with the URI as given", () =>
    Effect.gen(function*() {
      const double = scripted(Duration.infinity, "hang")
      const connector = TimeoutConnector.withTimeout(double.connector, "10 millis")
      const attempt = yield* Effect.fork(connector.connect("example.com:80"))
      yield* TestClock.adjust("10 millis")
      const error = yield* Effect.flip(Fiber.join(attempt))
      assert.strictEqual(error.message, "Connection to example.com:80 timed out after 0.01 seconds (ETIMEDOUT)")
      assert.deepStrictEqual(error.timeout, Duration.millis(10))
      const cases: ReadonlyArray<readonly [Duration.DurationInput, string]> = [
        ["3 seconds", "3.0"],
        ["250 millis", "0.25"],
        ["1 millis", "0.001"],
        ["1500 millis", "1.5"],
        ["61234 millis", "61.234"],
        [Duration.zero, "0.0"]
      ]
      for (const [timeout, seconds] of cases) {
        const message = new ConnectError({ reason: "Timeout", uri: "tcp://10.0.0.1:80", code: "ETIMEDOUT", timeout: Duration.decode(timeout) }).message
        assert.strictEqual(message, `Connection to tcp://10.0.0.1:80 timed out after ${seconds} seconds (ETIMEDOUT)`)
      }
    }))

  it.effect("passes a connection made before the deadline through, and keeps it until the caller's scope closes", () =>
    Effect.gen(function*() {
      const double = scripted("1 second", "connect")
      const connector = pipe(double.connector, TimeoutConnector.withTimeout("3 seconds"))
      const scope = yield* Scope.make()
      const attempt = yield* Effect.fork(Scope.extend(connector.connect("tcp://10.0.0.1:80"), scope))
      yield* TestClock.adjust("1 second")
      assert.strictEqual(yield* Fiber.join(attempt), double.connection)
      // Passing the deadline later changes nothing: no late timeout, no release.
      yield* TestClock.adjust("1 minute")
      assert.deepStrictEqual(double.events, ["open tcp://10.0.0.1:80"], "not released on success")
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(double.events, ["open tcp://10.0.0.1:80", "released"])
    }))

  it.live("passes an immediate connection through without leaving a timer", () =>
    Effect.gen(function*() {
      const double = scripted(Duration.zero, "connect")
      const [connection, pending] = yield* pendingTimersAfter(
        TimeoutConnector.withTimeout(double.connector, "1 hour").connect("tcp://10.0.0.1:80").pipe(Effect.scoped)
      )
      assert.strictEqual(connection, double.connection)
      assert.strictEqual(pending, 0)
      assert.deepStrictEqual(double.events, ["open tcp://10.0.0.1:80", "released"])
    }))

  it.scoped("passes an inner failure before the deadline through unchanged, released, without a timer", () =>
    Effect.gen(function*() {
      const double = scripted("1 second", "refuse")
      const attempt = yield* Effect.fork(TimeoutConnector.withTimeout(double.connector, "3 seconds").connect("tcp://10.0.0.1:80"))
      yield* TestClock.adjust("1 second")
      const error = yield* Effect.flip(Fiber.join(attempt))
      assert.strictEqual(error.reason, "Failed")
      assert.strictEqual(error.message, "Connection to tcp://10.0.0.1:80 failed: Connection refused (ECONNREFUSED)")
      assert.deepStrictEqual(double.events, ["open tcp://10.0.0.1:80", "released"])
      yield* TestClock.adjust("1 minute")
      assert.isTrue(Exit.isFailure(yield* Fiber.await(attempt)))
    }))

  it.live("passes an immediate inner failure through without leaving a timer", () =>
    Effect.gen(function*() {
      const double = scripted(Duration.zero, "refuse")
      const [error, pending] = yield* pendingTimersAfter(Effect.flip(
        TimeoutConnector.withTimeout(double.connector, "1 hour").connect("tcp://10.0.0.1:80").pipe(Effect.scoped)
      ))
      assert.strictEqual(error.code, "ECONNREFUSED")
      assert.strictEqual(pending, 0)
      assert.deepStrictEqual(double.events, ["open tcp://10.0.0.1:80", "released"])
    }))

  it.scoped("interrupting the caller interrupts the attempt and releases what it held", () =>
    Effect.gen(function*() {
      const double = scripted(Duration.infinity, "hang")
      const attempt = yield* Effect.fork(TimeoutConnector.withTimeout(double.connector, "3 seconds").connect("tcp://10.0.0.1:80"))
      yield* TestClock.adjust("1 second")
      const exit = yield* Fiber.interrupt(attempt)
      assert.isTrue(Exit.isInterrupted(exit))
      assert.deepStrictEqual(double.events, ["open tcp://10.0.0.1:80", "released"])
    }))

  it.scoped("with Duration.infinity never times out", () =>
    Effect.gen(function*() {
      const double = scripted("365 days", "connect")
      const attempt = yield* Effect.fork(TimeoutConnector.withTimeout(double.connector, Duration.infinity).connect("tcp://10.0.0.1:80"))
      yield* TestClock.adjust("364 days")
      assert.isTrue(Option.isNone(yield* Fiber.poll(attempt)))
      yield* TestClock.adjust("1 day")
      assert.strictEqual(yield* Fiber.join(attempt), double.connection)
    }))

  it.scoped("a timeout that is not positive (zero, negative, NaN, no duration) fails every connect with EINVAL", () =>
    Effect.gen(function*() {
      const double = scripted(0, "connect")
      const cases: ReadonlyArray<readonly [Duration.DurationInput, string]> = [
        [0, "0"],
        [-1, "-1"],
        [NaN, "NaN"],
        ["-3 seconds", `"-3 seconds"`],
        // Not a DurationInput by its type, but a JavaScript caller may pass it: Duration.decode throws on it.
        ["soon" as unknown as Duration.DurationInput, `"soon"`],
        [-1n, "-1"]
      ]
      for (const [timeout, shown] of cases) {
        const error = yield* Effect.flip(TimeoutConnector.withTimeout(double.connector, timeout).connect("tcp://10.0.0.1:80"))
        assert.strictEqual(error.reason, "Failed")
        assert.strictEqual(error.code, "EINVAL")
        assert.strictEqual(
          error.message,
          `Connection to tcp://10.0.0.1:80 failed: Invalid option timeout: ${shown}, expected a positive duration (milliseconds, or a Duration such as "5 seconds") (EINVAL)`
        )
      }
      assert.deepStrictEqual(double.events, [])
    }))

  // On the live Clock, withTimeout forks only the attempt and times it with its own timer; the
  // tests above run under TestClock, where it is Effect.timeoutFail. These check the live path.
  describe("on the live Clock", () => {
    it.live("fails with ETIMEDOUT at the deadline, after releasing what the attempt held, and leaves no timer", () =>
      Effect.gen(function*() {
        const double = scripted(Duration.infinity, "hang")
        const startedAt = Date.now()
        const [error, pending] = yield* pendingTimersAfter(Effect.flip(
          TimeoutConnector.withTimeout(double.connector, "1 second").connect("tcp://10.0.0.1:80").pipe(Effect.scoped)
        ))
        assert.isAtLeast(Date.now() - startedAt, 990)
        assert.strictEqual(error.reason, "Timeout")
        assert.strictEqual(error.message, "Connection to tcp://10.0.0.1:80 timed out after 1.0 seconds (ETIMEDOUT)")
        assert.deepStrictEqual(double.events, ["open tcp://10.0.0.1:80", "released"])
        assert.strictEqual(pending, 0)
      }))

    it.live("passes a connection made before the deadline through, kept until the caller's scope closes", () =>
      Effect.gen(function*() {
        const double = scripted("20 millis", "connect")
        const scope = yield* Scope.make()
        const connection = yield* Scope.extend(TimeoutConnector.withTimeout(double.connector, "1 hour").connect("tcp://10.0.0.1:80"), scope)
        assert.strictEqual(connection, double.connection)
        assert.deepStrictEqual(double.events, ["open tcp://10.0.0.1:80"])
        yield* Scope.close(scope, Exit.void)
        assert.deepStrictEqual(double.events, ["open tcp://10.0.0.1:80", "released"])
      }))

    it.live("interrupting the caller interrupts the attempt, releases what it held and clears the timer", () =>
      Effect.gen(function*() {
        const double = scripted(Duration.infinity, "hang")
        const [exit, pending] = yield* pendingTimersAfter(Effect.gen(function*() {
          const attempt = yield* Effect.fork(
            Effect.scoped(TimeoutConnector.withTimeout(double.connector, "1 hour").connect("tcp://10.0.0.1:80"))
          )
          yield* Effect.sleep("20 millis")
          return yield* Fiber.interrupt(attempt)
        }))
        assert.isTrue(Exit.isInterrupted(exit))
        assert.deepStrictEqual(double.events, ["open tcp://10.0.0.1:80", "released"])
        assert.strictEqual(pending, 0)
      }))

    it.live("keeps the FiberRefs the attempt set, as Effect.timeoutFail does", () =>
      Effect.gen(function*() {
        const ref = FiberRef.unsafeMake("before")
        const connector = Connector.Connector.of({
          connect: () => Effect.as(FiberRef.set(ref, "set by the attempt"), Connection.unsafeMakePair()[0])
        })
        yield* Effect.scoped(TimeoutConnector.withTimeout(connector, "1 hour").connect("tcp://10.0.0.1:80"))
        assert.strictEqual(yield* FiberRef.get(ref), "set by the attempt")
      }))
  })

  it.scoped("each attempt gets its own deadline", () =>
    Effect.gen(function*() {
      const double = scripted(Duration.infinity, "hang")
      const connector = TimeoutConnector.withTimeout(double.connector, "3 seconds")
      const first = yield* Effect.fork(connector.connect("tcp://10.0.0.1:80"))
      yield* TestClock.adjust("2 seconds")
      const second = yield* Effect.fork(connector.connect("tcp://10.0.0.2:80"))
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* Effect.flip(Fiber.join(first))).uri, "tcp://10.0.0.1:80")
      assert.isTrue(Option.isNone(yield* Fiber.poll(second)))
      yield* TestClock.adjust("2 seconds")
      assert.strictEqual((yield* Effect.flip(Fiber.join(second))).uri, "tcp://10.0.0.2:80")
      assert.deepStrictEqual(double.events, ["open tcp://10.0.0.1:80", "open tcp://10.0.0.2:80", "released", "released"])
    }))
})
