/**
 * Late errors: a peer reset that arrives after our side let go of a connection (or while
 * nothing waits on it), followed by writes, must never surface as an uncaught `error` event,
 * over TCP and TLS.
 * The scenarios run in a child process that listens for uncaught exceptions and rejections; the
 * process goes on, its servers keep serving, and it exits by itself once done.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { closed, nodeFixtureArgs, spawn } from "../support/processes.js"
import { jsonLines, nextWith, TIMEOUT } from "./support.js"

const typedWriteError = /^ConnectionError (Write|Closed) (EPIPE|ECONNRESET)$/

/** What each scenario of fixtures/lateErrors.ts must come to; those on an accepted connection run over TCP and TLS. */
const expected: ReadonlyArray<readonly [string, RegExp]> = [
  ...["TCP", "TLS"].flatMap((transport) => [
    [`${transport}: released by its handler, then reset, then written to`, /^ConnectionError Closed EPIPE; then the server echoes: still serving$/],
    [`${transport}: written to by a daemon fiber after its handler returned, then reset`, typedWriteError],
    [`${transport}: held idle and unread while the peer resets, then written to`, typedWriteError],
    [`${transport}: read from once, then idle (reading ahead, nobody waiting) while the peer resets, then written to`, typedWriteError],
    [`${transport}: megabytes queued by a forked sink when the peer resets`, typedWriteError]
  ] as const),
  ["a client connection whose scope closed, then the server resets, then written to", /^ConnectionError Closed EPIPE$/],
  [
    "reset while held in the accept queue, then pulled, read and written to",
    /^read "before the reset"(, then ConnectionError Read ECONNRESET)?; write ConnectionError (Write|Closed) (EPIPE|ECONNRESET)$/
  ]
]

describe("late errors", () => {
  it.live("peer resets after release, then writes: typed errors only, no uncaught exception, the process goes on and exits cleanly", () =>
    Effect.scoped(Effect.gen(function*() {
      const child = yield* spawn(process.execPath, nodeFixtureArgs("../reliability/fixtures/lateErrors.ts"))
      const lines = yield* jsonLines(child.stdout!)
      const seen: Array<unknown> = []
      const outcomes = new Map<string, string>()
      yield* nextWith(lines, "done", (line) => {
        const { outcome, scenario, uncaught } = line as { scenario?: string; outcome?: string; uncaught?: string }
        if (uncaught !== undefined) assert.fail(`uncaught in the child: ${uncaught}`)
        if (scenario !== undefined && outcome !== undefined) outcomes.set(scenario, outcome)
        else seen.push(line)
      }).pipe(Effect.timeout("30 seconds"))
      assert.deepStrictEqual(seen, [], "nothing unexpected")
      for (const [scenario, outcome] of expected) assert.match(outcomes.get(scenario) ?? "missing", outcome, scenario)
      assert.strictEqual(outcomes.size, expected.length)
      // Nothing is left open: the child's event loop empties and it exits with 0.
      const { code } = yield* closed(child).pipe(Effect.timeout("10 seconds"))
      assert.strictEqual(code, 0)
    })), TIMEOUT)
})
