import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Option from "effect/Option"
import * as Ref from "effect/Ref"
import * as Stream from "effect/Stream"
import fc from "fast-check"
import * as Connection from "../src/Connection.js"
import { concat, readAll, text } from "./fixtures/bytes.js"
import { ConnectionError } from "../src/SocketError.js"




/** Lets every runnable fiber run until it suspends. */
const settle = Effect.repeatN(Effect.yieldNow(), 10)

const assertSuspended = <A, E>(fiber: Fiber.RuntimeFiber<A, E>) =>
  Effect.gen(function*() {
    yield* settle
    assert.isTrue(Option.isNone(yield* Fiber.poll(fiber)), "the fiber should still be waiting")
    assert.strictEqual((yield* Fiber.status(fiber))._tag, "Suspended")
  })

const failure = <A>(effect: Effect.Effect<A, ConnectionError>) =>
  Effect.flip(effect).pipe(Effect.tap((error) => assert.instanceOf(error, ConnectionError)))

describe("Connection.makePair", () => {
  it.scoped("closed completes once both directions are done, not before", () =>
    Effect.gen(function*() {
      const [a, b] = yield* Connection.makePair()
      const aClosed = yield* Effect.fork(a.closed)
      yield* a.end
      yield* Effect.yieldNow()
      assert.isNull(aClosed.unsafePoll(), "only one direction is done")
      yield* b.end
      yield* Fiber.join(aClosed)
      const [c, d] = yield* Connection.makePair()
      const dClosed = yield* Effect.fork(d.closed)
      yield* c.close
      yield* Fiber.join(dClosed)
      yield* c.closed
    }))

  it.scoped("carries bytes both ways", () =>
    Effect.gen(function*() {
      const [a, b] = yield* Connection.makePair()
      yield* a.write("ping")
      const pullB = yield* Stream.toPull(b.read)
      assert.strictEqual(text(concat(yield* pullB)), "ping")
      yield* b.write(new Uint8Array([0, 255, 10]))
      const pullA = yield* Stream.toPull(a.read)
      assert.deepStrictEqual(Array.from(concat(yield* pullA)), [0, 255, 10])
    }))

  it.scoped("pull gives every chunk waiting, then None once the peer ended, and None again after", () =>
    Effect.gen(function*() {
      const [a, b] = yield* Connection.makePair()
      yield* a.write("one")
      yield* a.write("two")
      const first = yield* b.pull
      assert.deepStrictEqual(Option.map(first, (chunk) => Chunk.toReadonlyArray(chunk).map(text)), Option.some(["one", "two"]))
      const waiting = yield* Effect.fork(b.pull)
      yield* assertSuspended(waiting)
      yield* a.end
      assert.isTrue(Option.isNone(yield* Fiber.join(waiting)))
      assert.isTrue(Option.isNone(yield* b.pull))
    }))

  it.scoped("one reader at a time: a second waiting reader takes over, the first fails with EBUSY", () =>
    Effect.gen(function*() {
      const [a, b] = yield* Connection.makePair()
      const first = yield* Effect.fork(b.pull)
      yield* assertSuspended(first)
      const second = yield* Effect.fork(readAll(b))
      const error = yield* Effect.flip(Fiber.join(first))
      assert.strictEqual(error.code, "EBUSY")
      assert.include(error.message, "one reader at a time")
      yield* a.write("all for the second")
      yield* a.end
      assert.strictEqual(text(yield* Fiber.join(second)), "all for the second")
    }))

  it.scoped("hands a reader every chunk waiting, in write order, and drops empty writes", () =>
    Effect.gen(function*() {
      const [a, b] = yield* Connection.makePair()
      yield* a.write("one")
      yield* a.write("")
      yield* a.write("two")
      yield* a.write("three")
      const chunk = yield* Effect.flatMap(Stream.toPull(b.read), (pull) => pull)
      assert.deepStrictEqual(Chunk.toReadonlyArray(chunk).map(text), ["one", "two", "three"])
    }))

  it.scoped("copies written bytes, so the writer may reuse its buffer", () =>
    Effect.gen(function*() {
      const [a, b] = yield* Connection.makePair()
      const buffer = new Uint8Array([1, 2, 3])
      yield* a.write(buffer)
      buffer.fill(9)
      yield* a.end
      assert.deepStrictEqual(Array.from(yield* readAll(b)), [1, 2, 3])
    }))

  it.scoped("encodes strings as UTF-8", () =>
    Effect.gen(function*() {
      const [a, b] = yield* Connection.makePair()
      yield* a.write("héllo ✓")
      yield* a.end
      assert.deepStrictEqual(Array.from(yield* readAll(b)), Array.from(new TextEncoder().encode("héllo ✓")))
    }))

  it.scoped("reports the configured addresses, mirrored on the peer", () =>
    Effect.gen(function*() {
      const [a, b] = yield* Connection.makePair({ localAddress: "tcp://127.0.0.1:50000", remoteAddress: "tcp://127.0.0.1:80" })
      assert.deepStrictEqual(a.localAddress, Option.some("tcp://127.0.0.1:50000"))
      assert.deepStrictEqual(a.remoteAddress, Option.some("tcp://127.0.0.1:80"))
      assert.deepStrictEqual(b.localAddress, Option.some("tcp://127.0.0.1:80"))
      assert.deepStrictEqual(b.remoteAddress, Option.some("tcp://127.0.0.1:50000"))
      const [c, d] = yield* Connection.makePair()
      assert.deepStrictEqual([c.localAddress, c.remoteAddress], [Option.some("memory://a"), Option.some("memory://b")])
      assert.deepStrictEqual([d.localAddress, d.remoteAddress], [Option.some("memory://b"), Option.some("memory://a")])
      assert.isTrue(Connection.isConnection(a))
    }))

  describe("backpressure", () => {
    it.scoped("a write waits while the peer holds more than the high-water mark unread, until it reads", () =>
      Effect.gen(function*() {
        const [a, b] = yield* Connection.makePair({ highWaterMark: 4 })
        yield* a.write("1234") // exactly the mark: completes at once
        const blocked = yield* Effect.fork(a.write("5"))
        yield* assertSuspended(blocked)
        const pull = yield* Stream.toPull(b.read)
        assert.strictEqual(text(concat(yield* pull)), "12345")
        yield* Fiber.join(blocked)
      }))

    it.scoped("a writer that outpaces its reader holds at most one high-water mark plus one write", () =>
      Effect.gen(function*() {
        const [a, b] = yield* Connection.makePair({ highWaterMark: 4096 })
        const written = yield* Ref.make(0)
        const kilobyte = new Uint8Array(1024)
        const writer = yield* Effect.fork(Effect.forEach(
          Array.from({ length: 100 }),
          () => Effect.zipRight(a.write(kilobyte), Ref.update(written, (n) => n + 1)),
          { discard: true }
        ).pipe(Effect.zipRight(a.end)))
        yield* assertSuspended(writer)
        // Writes 1–4 leave 4096 bytes unread and complete; write 5 is handed over and waits.
        assert.strictEqual(yield* Ref.get(written), 4)
        const pull = yield* Stream.toPull(b.read)
        assert.strictEqual(concat(yield* pull).length, 5 * 1024)
        yield* assertSuspended(writer)
        assert.strictEqual(yield* Ref.get(written), 9)
        const rest = yield* readAll(b)
        assert.strictEqual(rest.length, 95 * 1024)
        yield* Fiber.join(writer)
        assert.strictEqual(yield* Ref.get(written), 100)
      }))

    it.scoped("with a high-water mark of 0 every write waits for the reader", () =>
      Effect.gen(function*() {
        const [a, b] = yield* Connection.makePair({ highWaterMark: 0 })
        const blocked = yield* Effect.fork(a.write("x"))
        yield* assertSuspended(blocked)
        const pull = yield* Stream.toPull(b.read)
        assert.strictEqual(text(concat(yield* pull)), "x")
        yield* Fiber.join(blocked)
      }))

    it.effect("a high-water mark that is not an integer of 0 or more is a defect, with what was wrong", () =>
      Effect.gen(function*() {
        for (const highWaterMark of [-1, NaN, 1.5, Infinity]) {
          const exit = yield* Effect.exit(Effect.scoped(Connection.makePair({ highWaterMark })))
          const defect = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.dieOption(exit.cause)) : undefined
          assert.isTrue(Cause.isIllegalArgumentException(defect), String(exit))
          assert.strictEqual(
            (defect as Error).message,
            `Connection.makePair: Invalid option highWaterMark: ${highWaterMark}, expected an integer from 0 to 2147483647`
          )
          assert.throws(() => Connection.unsafeMakePair({ highWaterMark }), `highWaterMark: ${highWaterMark},`)
        }
      }))

    it.scoped("a reader waits for data without spinning, and wakes on a write", () =>
      Effect.gen(function*() {
        const [a, b] = yield* Connection.makePair()
        const reader = yield* Effect.fork(Effect.flatMap(Stream.toPull(b.read), (pull) => pull).pipe(Effect.scoped))
        yield* assertSuspended(reader)
        yield* a.write("late")
        assert.strictEqual(text(concat(yield* Fiber.join(reader))), "late")
      }))

    it.scoped("interrupting a waiting write leaves the connection usable", () =>
      Effect.gen(function*() {
        const [a, b] = yield* Connection.makePair({ highWaterMark: 1 })
        const blocked = yield* Effect.fork(a.write("ab"))
        yield* assertSuspended(blocked)
        yield* Fiber.interrupt(blocked)
        yield* a.end
        // The bytes were handed over before the wait, so they arrive.
        assert.strictEqual(text(yield* readAll(b)), "ab")
      }))
  })

  describe("half-close", () => {
    it.scoped("end lets the peer drain, then its read ends; the ender keeps reading", () =>
      Effect.gen(function*() {
        const [a, b] = yield* Connection.makePair()
        yield* a.write("request")
        yield* a.end
        yield* a.end // idempotent
        assert.strictEqual(text(yield* readAll(b)), "request")
        yield* b.write("response")
        yield* b.end
        assert.strictEqual(text(yield* readAll(a)), "response")
      }))

    it.scoped("the peer can half-close first, in the other direction", () =>
      Effect.gen(function*() {
        const [a, b] = yield* Connection.makePair()
        yield* b.write("greeting")
        yield* b.end
        assert.strictEqual(text(yield* readAll(a)), "greeting")
        yield* a.write("still open")
        yield* a.end
        assert.strictEqual(text(yield* readAll(b)), "still open")
      }))

    it.scoped("a write after end fails with Closed (EPIPE); addresses stay", () =>
      Effect.gen(function*() {
        const [a] = yield* Connection.makePair()
        yield* a.end
        const error = yield* failure(a.write("late"))
        assert.strictEqual(error.reason, "Closed")
        assert.strictEqual(error.code, "EPIPE")
        assert.strictEqual(error.message, "Already closed: connection to memory://b: Write after end (EPIPE)")
        assert.deepStrictEqual(a.remoteAddress, Option.some("memory://b"))
      }))

    it.scoped("a reader already waiting sees the end", () =>
      Effect.gen(function*() {
        const [a, b] = yield* Connection.makePair()
        const reader = yield* Effect.fork(readAll(b))
        yield* assertSuspended(reader)
        yield* a.end
        assert.strictEqual((yield* Fiber.join(reader)).length, 0)
      }))

    it.scoped("sink writes every chunk, then half-closes", () =>
      Effect.gen(function*() {
        const [a, b] = yield* Connection.makePair()
        const encoder = new TextEncoder()
        yield* Stream.make("a", "b", "c").pipe(Stream.map((s) => encoder.encode(s)), Stream.run(a.sink))
        assert.strictEqual(text(yield* readAll(b)), "abc")
        assert.strictEqual((yield* failure(a.write("x"))).reason, "Closed")
      }))
  })

  describe("close", () => {
    it.scoped("delivers what was written, then ends the peer's read; the closer's writes fail with Closed", () =>
      Effect.gen(function*() {
        const [a, b] = yield* Connection.makePair()
        yield* a.write("bye")
        yield* a.close
        yield* a.close // idempotent
        assert.strictEqual(text(yield* readAll(b)), "bye")
        const error = yield* failure(a.write("more"))
        assert.strictEqual(error.reason, "Closed")
        assert.strictEqual(error.code, "EPIPE")
        assert.strictEqual(error.message, "Already closed: connection to memory://b: Connection closed (EPIPE)")
        yield* a.end // a no-op once closed
      }))

    it.scoped("ends the closer's read at once and makes the peer's writes fail with EPIPE", () =>
      Effect.gen(function*() {
        const [a, b] = yield* Connection.makePair()
        yield* b.write("unread")
        yield* a.close
        assert.strictEqual((yield* readAll(a)).length, 0)
        const error = yield* failure(b.write("anyone?"))
        assert.strictEqual(error.reason, "Write")
        assert.strictEqual(error.code, "EPIPE")
        assert.strictEqual(error.message, "Unable to write to connection to memory://a: Broken pipe (EPIPE)")
      }))

    it.scoped("ends a read already waiting on the closer", () =>
      Effect.gen(function*() {
        const [a] = yield* Connection.makePair()
        const reader = yield* Effect.fork(readAll(a))
        yield* assertSuspended(reader)
        yield* a.close
        assert.strictEqual((yield* Fiber.join(reader)).length, 0)
      }))

    it.scoped("fails a peer's write waiting for the closer to read, with EPIPE", () =>
      Effect.gen(function*() {
        const [a, b] = yield* Connection.makePair({ highWaterMark: 2 })
        const writer = yield* Effect.fork(b.write("too much"))
        yield* assertSuspended(writer)
        yield* a.close
        const error = yield* Effect.flip(Fiber.join(writer))
        assert.strictEqual(error.reason, "Write")
        assert.strictEqual(error.code, "EPIPE")
      }))

    it.scoped("a write waiting for the peer fails with Closed when its own side closes", () =>
      Effect.gen(function*() {
        const [a] = yield* Connection.makePair({ highWaterMark: 2 })
        const writer = yield* Effect.fork(a.write("too much"))
        yield* assertSuspended(writer)
        yield* a.close
        assert.strictEqual((yield* Effect.flip(Fiber.join(writer))).reason, "Closed")
      }))

    it.scoped("addresses become None on the closed side only", () =>
      Effect.gen(function*() {
        const [a, b] = yield* Connection.makePair()
        yield* a.close
        assert.isTrue(Option.isNone(a.remoteAddress))
        assert.isTrue(Option.isNone(a.localAddress))
        assert.deepStrictEqual(b.remoteAddress, Option.some("memory://a"))
      }))

    it.effect("closing the scope closes both connections", () =>
      Effect.gen(function*() {
        const [a, b] = yield* Effect.scoped(Connection.makePair())
        for (const connection of [a, b]) {
          assert.isTrue(Option.isNone(connection.remoteAddress))
          assert.strictEqual((yield* failure(connection.write("x"))).reason, "Closed")
          assert.strictEqual((yield* readAll(connection)).length, 0)
        }
      }))
  })

  it("is binary-safe for random payloads, chunk sizes and high-water marks", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 2048 }), { maxLength: 30 }),
        fc.integer({ min: 0, max: 4096 }),
        (chunks, highWaterMark) =>
          Effect.gen(function*() {
            const [a, b] = yield* Connection.makePair({ highWaterMark })
            const writer = yield* Effect.fork(
              Effect.zipRight(Effect.forEach(chunks, (chunk) => a.write(chunk), { discard: true }), a.end)
            )
            const [forward] = yield* Effect.all([readAll(b), Fiber.join(writer)], { concurrency: 2 })
            assert.deepStrictEqual(forward, concat(chunks))
          }).pipe(Effect.scoped, Effect.runPromise)
      ),
      { numRuns: 200 }
    )
  })
})
