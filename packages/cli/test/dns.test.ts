import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Dnsmasq from "../../node/test/fixtures/Dnsmasq.js"
import { listen, runCli } from "./cliProcess.js"

const portOf = (address: string) => address.slice(address.lastIndexOf(":") + 1)

describe("effect-socket connect with names", () => {
  it.scopedLive("reaches localhost over IPv6 first (Happy Eyeballs) and says so under --verbose", () =>
    Effect.gen(function*() {
      const { address } = yield* listen("[::1]:0")
      const result = yield* runCli(["connect", "--verbose", `localhost:${portOf(address)}`], "over v6")
      assert.strictEqual(result.code, 0, result.stderr)
      assert.strictEqual(result.stdout.toString(), "over v6")
      assert.match(result.stderr, new RegExp(`Connected to tcp://\\[::1\\]:${portOf(address)} from tcp://\\[::1\\]:\\d+ \\(IPv6\\)`))
    }))

  it.scopedLive("falls back to IPv4 when nothing listens on ::1", () =>
    Effect.gen(function*() {
      const { address } = yield* listen("127.0.0.1:0")
      const result = yield* runCli(["connect", "-v", `localhost:${portOf(address)}`], "over v4")
      assert.strictEqual(result.code, 0, result.stderr)
      assert.strictEqual(result.stdout.toString(), "over v4")
      assert.include(result.stderr, `Connected to ${address} from tcp://127.0.0.1:`)
    }))

  it.scopedLive("--no-happy-eyeballs tries the first IPv4 address only", () =>
    Effect.gen(function*() {
      const { address } = yield* listen("[::1]:0")
      const port = portOf(address)
      const result = yield* runCli(["connect", "--no-happy-eyeballs", `localhost:${port}`])
      assert.strictEqual(result.code, 1)
      assert.strictEqual(
        result.stderr.trim(),
        `Connection to tcp://localhost:${port} failed: Connection to tcp://127.0.0.1:${port} failed: Connection refused (ECONNREFUSED)`
      )
    }))

  it.scopedLive("--dns asks the given server (dnsmasq here), and names an unknown host's DNS failure", () =>
    Effect.gen(function*() {
      const dnsmasq = yield* Dnsmasq.make({ hostRecords: ["echo.test,127.0.0.1"], localDomains: ["test"] })
      const { address } = yield* listen("127.0.0.1:0")
      const port = portOf(address)
      const found = yield* runCli(["connect", "--dns", dnsmasq.address, `echo.test:${port}`], "by name")
      assert.strictEqual(found.code, 0, found.stderr)
      assert.strictEqual(found.stdout.toString(), "by name")
      const missing = yield* runCli(["connect", "--dns", dnsmasq.address, "--no-happy-eyeballs", `missing.test:${port}`])
      assert.strictEqual(missing.code, 1)
      assert.strictEqual(
        missing.stderr.trim(),
        `Connection to tcp://missing.test:${port} failed during DNS lookup: ` +
          `DNS query for missing.test (A) failed: Non-Existent Domain / NXDOMAIN (ENOTFOUND)`
      )
    }))
})
