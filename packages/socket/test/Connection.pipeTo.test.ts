/**
 * `Connection.pipeTo` over in-memory pairs (the generic loop over `pull` and `write`): echo,
 * payloads intact, ReactPHP's `pipe()` end option, backpressure, errors and interruption.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { pipe } from "effect/Function"
import * as Option from "effect/Option"
import fc from "fast-check"
import * as Connection from "../src/Connection.js"
import { concat, readAll, text } from "./fixtures/bytes.js"



const readText = (connection: Connection.Connection) => Effect.map(readAll(connection), (bytes) => text(bytes))

/** Lets every runnable fiber run until it suspends. */
const settle = Effect.repeatN(Effect.yieldNow(), 20)

describe("Connection.pipeTo (memory pairs)", () => {
  it.scoped("pipeTo(c, c) echoes, then ends the connection after the peer's FIN", () =>
    Effect.gen(function*() {
      const [client, server] = yield* Connection.makePair()
      const echo = yield* Effect.fork(Connection.pipeTo(server, server))
      yield* client.write("hello ")
      yield* client.write("world")
      yield* client.end
      assert.strictEqual(yield* readText(client), "hello world")
      assert.isTrue(Exit.isSuccess(yield* Fiber.await(echo)))
    }))

  it("data-last form, and payloads arrive intact in order", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ minLength: 1, maxLength: 3000 }), { maxLength: 30 }), (pieces) =>
        Effect.runPromise(Effect.scoped(Effect.gen(function*() {
          const [a, b] = yield* Connection.makePair({ highWaterMark: 1024 })
          const [c, d] = yield* Connection.makePair({ highWaterMark: 512 })
          // a -> b, piped into c -> d.
          const piping = yield* Effect.fork(pipe(b, Connection.pipeTo(c)))
          const received = yield* Effect.fork(readAll(d))
          yield* Effect.forEach(pieces, (piece) => a.write(piece), { discard: true })
          yield* a.end
          assert.deepStrictEqual(yield* Fiber.join(received), concat(pieces))
          yield* Fiber.join(piping)
        }))))
    )
  })

  it.scoped("end: false leaves the destination writable after the source ends", () =>
    Effect.gen(function*() {
      const [a, b] = yield* Connection.makePair()
      const [c, d] = yield* Connection.makePair()
      yield* a.write("piped")
      yield* a.end
      yield* Connection.pipeTo(b, c, { end: false })
      yield* c.write(", then written")
      yield* c.end
      assert.strictEqual(yield* readText(d), "piped, then written")
    }))

  it.scoped("backpressure: while the destination is full the source is not read, so its writer waits", () =>
    Effect.gen(function*() {
      const [a, b] = yield* Connection.makePair({ highWaterMark: 1000 })
      const [c, d] = yield* Connection.makePair({ highWaterMark: 1000 })
      yield* Effect.fork(Connection.pipeTo(b, c))
      let written = 0
      // Counted when handed over (a write hands its bytes over, then waits).
      const writer = yield* Effect.fork(
        Effect.forever(Effect.zipRight(Effect.sync(() => written += 100), a.write(new Uint8Array(100))))
      )
      yield* settle
      // Nobody reads d: d holds c's 1000 and one write over it, the pipe one pull (at most
      // 1100), a its own 1000 and one write over it.
      assert.isAtMost(written, 3600)
      assert.isAtLeast(written, 1000)
      const stalledAt = written
      yield* settle
      assert.strictEqual(written, stalledAt, "the writer kept going while nobody read")
      yield* Fiber.interrupt(writer)
      // Reading the destination lets everything through.
      yield* a.end
      assert.strictEqual((yield* readAll(d)).length, written)
    }))

  it.scoped("fails with the destination's write error: Closed (EPIPE) once it is closed", () =>
    Effect.gen(function*() {
      const [a, b] = yield* Connection.makePair()
      const [c] = yield* Connection.makePair()
      yield* c.close
      yield* a.write("x")
      const error = yield* Effect.flip(Connection.pipeTo(b, c))
      assert.strictEqual(error.reason, "Closed")
      assert.strictEqual(error.code, "EPIPE")
    }))

  it.scoped("a closed source ends the pipe like a FIN: the destination is ended", () =>
    Effect.gen(function*() {
      const [, b] = yield* Connection.makePair()
      const [c, d] = yield* Connection.makePair()
      const piping = yield* Effect.fork(Connection.pipeTo(b, c))
      yield* settle
      yield* b.close
      yield* Fiber.join(piping)
      assert.strictEqual((yield* readAll(d)).length, 0)
    }))

  it.scoped("interrupted, it leaves both open and the bytes not yet piped readable with pull", () =>
    Effect.gen(function*() {
      const [a, b] = yield* Connection.makePair()
      const [c, d] = yield* Connection.makePair()
      const piping = yield* Effect.fork(Connection.pipeTo(b, c))
      yield* a.write("first")
      yield* settle
      yield* Fiber.interrupt(piping)
      yield* a.write("second")
      const pulled = yield* b.pull
      assert.strictEqual(text(concat(Option.getOrThrow(pulled))), "second")
      yield* c.write(" and more")
      yield* c.end
      assert.strictEqual(yield* readText(d), "first and more")
    }))
})
