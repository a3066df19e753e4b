import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { runChecks } from "../src/demo/Demo.js"
import { runCli } from "./cliProcess.js"

describe("effect-socket demo", () => {
  it.effect("runs every check on loopback, one line each and a table, and exits 0", () =>
    Effect.gen(function*() {
      const result = yield* runCli(["demo"])
      const output = result.stdout.toString()
      assert.strictEqual(result.code, 0, output + result.stderr)
      // The one-line results come first, then a blank line, then the table.
      const lines = output.split("\n\n")[1]!.split("\n")
      assert.isAtLeast(lines.length, 8)
      assert.deepStrictEqual(lines.filter((line) => line.startsWith("✘")), [])
      for (const name of [
        "TCP IPv4 echo",
        "TCP IPv6 echo",
        "Unix echo",
        "TLS echo",
        "Happy Eyeballs IPv6",
        "Happy Eyeballs fallback",
        "LimitingServer reject",
        "LimitingServer pause"
      ]) {
        assert.include(output, `✔ ${name}: `)
      }
      assert.match(output, new RegExp(`\\n${lines.length} of ${lines.length} checks passed\\n`))
    }))

  it.effect("a failing check fails the run, with its error's message in its row", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(runChecks([
        { name: "passes", run: Effect.succeed({ result: "fine", speed: "" }) },
        { name: "fails", run: Effect.fail(new Error("Connection to tcp://127.0.0.1:9 failed: Connection refused (ECONNREFUSED)")) },
        { name: "dies", run: Effect.die("boom") }
      ]))
      assert.strictEqual(error.failed, 2)
      assert.strictEqual(error.message, "2 demo check(s) failed")
    }))
})
