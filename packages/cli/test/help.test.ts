import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { BIN, runCli } from "./cliProcess.js"

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

  it.effect("optional flags are shown in brackets, --alpn too", () =>
    Effect.gen(function*() {
      const result = yield* runCli(["connect", "--help"])
      const usage = plain(result.stdout.toString()).split("\n").find((line) => line.startsWith("$ connect")) ?? ""
      assert.include(usage, "[--alpn text...]")
      assert.include(usage, "[--timeout float]")
    }))

  it.effect("bad values and combinations are usage errors (exit 2) that say what is wrong", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [ReadonlyArray<string>, string]> = [
        [["connect", "--timeout", "-1", "127.0.0.1:1"], "--timeout must be a number of seconds, 0 or more (0: no limit), got -1"],
        [["connect", "--timeout", "NaN", "127.0.0.1:1"], "--timeout must be a number of seconds, 0 or more (0: no limit), got NaN"],
        [["listen", "--limit", "0", "127.0.0.1:0"], "--limit must be a positive number of connections, got 0"],
        [["listen", "--limit", "-1", "127.0.0.1:0"], "--limit must be a positive number of connections, got -1"],
        [["listen", "--pause-on-limit", "127.0.0.1:0"], "--pause-on-limit needs --limit"],
        [["listen", "--cert", BIN, "127.0.0.1:0"], "--cert and --key are for tls:// URIs only, not 127.0.0.1:0"],
        [["listen", "--key", BIN, "unix:///tmp/x.sock"], "--cert and --key are for tls:// URIs only, not unix:///tmp/x.sock"],
        [["listen", "--key", BIN, "tls://127.0.0.1:0"], "--key needs --cert (the certificate it belongs to)"]
      ]
      for (const [args, message] of cases) {
        const result = yield* runCli(args)
        assert.strictEqual(result.code, 2, args.join(" "))
        assert.strictEqual(plain(result.stderr).trim(), message)
      }
    }))

  it.effect("a usage error exits 2 and says what is missing", () =>
    Effect.gen(function*() {
      const result = yield* runCli(["connect"])
      assert.strictEqual(result.code, 2)
      assert.include(plain(result.stderr), "Missing argument <uri>")
    }))
})
