/**
 * `LimitingServer.make`'s own checks; its behaviour on real sockets is tested in the node
 * package (LimitingServer.test.ts there).
 */
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as LimitingServer from "../src/LimitingServer.js"
import * as MemoryNetwork from "../src/MemoryNetwork.js"

describe("LimitingServer.make", () => {
  it.scoped("a limit that is neither a positive integer nor null is a defect, with what was wrong", () =>
    Effect.gen(function*() {
      const server = yield* MemoryNetwork.listen("memory://limited")
      for (const limit of [NaN, -1, 0, 1.5]) {
        for (const pauseOnLimit of [false, true]) {
          const exit = yield* Effect.exit(LimitingServer.make(server, { limit, pauseOnLimit }))
          const defect = Exit.isFailure(exit) ? Option.getOrUndefined(Cause.dieOption(exit.cause)) : undefined
          assert.isTrue(Cause.isIllegalArgumentException(defect), String(exit))
          assert.strictEqual(
            (defect as Error).message,
            `LimitingServer.make: Invalid option limit: ${limit}, expected null or an integer from 1 to 2147483647`
          )
        }
      }
      assert.strictEqual((yield* LimitingServer.make(server, { limit: null })).address, "memory://limited")
    }).pipe(Effect.provide(MemoryNetwork.layer)))
})
