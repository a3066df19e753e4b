import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { runCli } from "./cliProcess.js"

// Colour codes are kept out of the comparisons.
const plain = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, "")

describe("effect-socket --help", () => {
  it.effect("lists the commands", () =>
    Effect.gen(function*() {
      const result = yield* runCli(["--help"])
      assert.strictEqual(result.code, 0)
      const text = plain(result.stdout.toString())
      for (const command of ["connect", "listen", "demo"]) assert.include(text, `- ${command}`)
    }))

  it.effect("documents each command's flags", () =>
    Effect.gen(function*() {
      const flags: Record<string, ReadonlyArray<string>> = {
        connect: ["<uri>", "--verbose"],
        listen: ["<uri>", "--mode echo | discard | chat | stdio", "--limit", "--pause-on-limit", "--verbose"],
        demo: ["USAGE"]
      }
      for (const [command, expected] of Object.entries(flags)) {
        const result = yield* runCli([command, "--help"])
        assert.strictEqual(result.code, 0)
        const text = plain(result.stdout.toString())
        for (const flag of expected) assert.include(text, flag, `${command} --help`)
      }
    }))

  it.effect("a usage error exits 2 and says what is missing", () =>
    Effect.gen(function*() {
      const result = yield* runCli(["connect"])
      assert.strictEqual(result.code, 2)
      assert.include(plain(result.stderr), "Missing argument <uri>")
    }))
})
