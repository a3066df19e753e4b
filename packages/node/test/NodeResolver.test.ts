import * as NodeResolver from "@effect-socket/node/NodeResolver"
import * as Resolver from "@effect-socket/socket/Resolver"
import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import * as DnsServer from "./fixtures/DnsServer.js"

/** A hosts file in a fresh temporary directory, removed with the scope. */
const hostsFile = (text: string) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), "hosts-"))
      await fs.writeFile(path.join(dir, "hosts"), text)
      return dir
    }),
    (dir) => Effect.promise(() => fs.rm(dir, { recursive: true, force: true }))
  ).pipe(Effect.map((dir) => path.join(dir, "hosts")))

/** Waits (real time, bounded) until `condition` holds. */
const until = (condition: () => boolean): Effect.Effect<void> =>
  Effect.gen(function*() {
    for (let i = 0; i < 400 && !condition(); i++) yield* Effect.sleep(Duration.millis(5))
    assert.isTrue(condition(), "condition reached")
  })

const SCRIPT: DnsServer.Script = {
  "dual.test": { A: { answers: ["192.0.2.1", "192.0.2.2"], ttl: 30 }, AAAA: { answers: ["2001:db8::1"], ttl: 40 } },
  "v4only.test": { A: { answers: ["192.0.2.4"] } },
  "broken.test": { A: { rcode: "SERVFAIL" }, AAAA: { rcode: "REFUSED" } },
  "silent.test": { A: { drop: true }, AAAA: { drop: true } },
  "slow.test": { A: { answers: ["192.0.2.9"], delay: 150 } },
  "localhost": { A: { answers: ["192.0.2.66"] }, AAAA: { answers: ["2001:db8::66"] } },
  "app.localhost": { A: { answers: ["192.0.2.66"] } }
}

const resolverFor = (server: DnsServer.DnsServer, options: NodeResolver.Options = {}) =>
  NodeResolver.make({ servers: [server.address], hostsFile: false, ...options })

describe("NodeResolver", () => {
  it.scoped("resolves A and AAAA records through the given server, with their TTLs", () =>
    Effect.gen(function*() {
      const server = yield* DnsServer.make(SCRIPT)
      const resolver = yield* resolverFor(server)
      assert.deepStrictEqual(yield* resolver.resolve("dual.test", 4), ["192.0.2.1", "192.0.2.2"])
      const v6 = yield* resolver.resolveWithTtl!("dual.test", 6)
      assert.deepStrictEqual(v6.map((a) => [a.address, Duration.toSeconds(a.ttl)]), [["2001:db8::1", 40]])
      assert.deepStrictEqual(server.questions, ["A dual.test", "AAAA dual.test"])
    }))

  it.scoped("asks a server on an IPv6 address", () =>
    Effect.gen(function*() {
      const server = yield* DnsServer.make(SCRIPT, "::1")
      assert.match(server.address, /^\[::1\]:\d+$/)
      const resolver = yield* resolverFor(server)
      assert.deepStrictEqual(yield* resolver.resolve("v4only.test", 4), ["192.0.2.4"])
    }))

  it.scoped("maps DNS failures to DnsError reasons", () =>
    Effect.gen(function*() {
      const server = yield* DnsServer.make(SCRIPT)
      const resolver = yield* resolverFor(server)
      const nxdomain = yield* Effect.flip(resolver.resolve("nowhere.test", 4))
      assert.deepStrictEqual([nxdomain.reason, nxdomain.code], ["NotFound", "ENOTFOUND"])
      assert.strictEqual(nxdomain.message, "DNS query for nowhere.test (A) failed: Non-Existent Domain / NXDOMAIN (ENOTFOUND)")
      const nodata = yield* Effect.flip(resolver.resolve("v4only.test", 6))
      assert.deepStrictEqual([nodata.reason, nodata.code, nodata.family], ["NoData", "ENODATA", 6])
      const servfail = yield* Effect.flip(resolver.resolve("broken.test", 4))
      assert.deepStrictEqual([servfail.reason, servfail.code], ["ServerFailure", "ESERVFAIL"])
      const refused = yield* Effect.flip(resolver.resolve("broken.test", 6))
      assert.deepStrictEqual([refused.reason, refused.code], ["Refused", "EREFUSED"])
    }))

  it.scoped("fails with ETIMEOUT when the server does not answer", () =>
    Effect.gen(function*() {
      const server = yield* DnsServer.make(SCRIPT)
      const resolver = yield* resolverFor(server, { timeout: "50 millis", tries: 2 })
      const error = yield* Effect.flip(resolver.resolve("silent.test", 4))
      assert.deepStrictEqual([error.reason, error.code], ["Timeout", "ETIMEOUT"])
      assert.strictEqual(server.questions.filter((q) => q === "A silent.test").length, 2, "one question per try")
    }))

  it.scopedLive("interrupting a lookup cancels its query, and only its own", () =>
    Effect.gen(function*() {
      const server = yield* DnsServer.make(SCRIPT)
      const resolver = yield* resolverFor(server)
      const silent = yield* Effect.fork(resolver.resolve("silent.test", 4))
      const slow = yield* Effect.fork(resolver.resolve("slow.test", 4))
      yield* until(() => server.questions.includes("A silent.test") && server.questions.includes("A slow.test"))
      const exit = yield* Fiber.interrupt(silent)
      assert.isTrue(Exit.isInterrupted(exit))
      assert.deepStrictEqual(yield* Fiber.join(slow), ["192.0.2.9"], "the other lookup's query was not cancelled")
      yield* until(() => !process.getActiveResourcesInfo().includes("QueryReqWrap"))
    }))

  it.scoped("answers localhost and *.localhost with the loopback addresses, without DNS (RFC 6761 §6.3)", () =>
    Effect.gen(function*() {
      const server = yield* DnsServer.make(SCRIPT)
      // The hosts file lists only the IPv4 address, as many machines' do.
      const hosts = yield* hostsFile("127.0.0.1 localhost\n")
      const resolver = yield* resolverFor(server, { hostsFile: hosts })
      assert.deepStrictEqual(yield* resolver.resolve("localhost", 4), ["127.0.0.1"])
      assert.deepStrictEqual(yield* resolver.resolve("localhost", 6), ["::1"])
      assert.deepStrictEqual(yield* resolver.resolve("LocalHost.", 6), ["::1"])
      assert.deepStrictEqual(yield* resolver.resolve("app.localhost", 4), ["127.0.0.1"])
      assert.deepStrictEqual(yield* resolver.resolve("app.localhost", 6), ["::1"])
      assert.deepStrictEqual(server.questions, [])
    }))

  it.scoped("answers from the hosts file first, and asks DNS for the family it does not list", () =>
    Effect.gen(function*() {
      const server = yield* DnsServer.make(SCRIPT)
      const hosts = yield* hostsFile(
        "# comment\n192.0.2.10  pinned.test alias.test # trailing comment\n\n192.0.2.11 pinned.test\n2001:db8::10 six.test\nv4only.test\n"
      )
      const resolver = yield* resolverFor(server, { hostsFile: hosts })
      assert.deepStrictEqual(yield* resolver.resolve("pinned.test", 4), ["192.0.2.10", "192.0.2.11"])
      assert.deepStrictEqual(yield* resolver.resolve("ALIAS.test.", 4), ["192.0.2.10"])
      assert.deepStrictEqual(yield* resolver.resolve("six.test", 6), ["2001:db8::10"])
      assert.deepStrictEqual(server.questions, [])
      yield* Effect.flip(resolver.resolve("pinned.test", 6))
      assert.deepStrictEqual(server.questions, ["AAAA pinned.test"])
    }))

  it.scoped("reads /etc/hosts by default and no hosts file with hostsFile: false", () =>
    Effect.gen(function*() {
      const server = yield* DnsServer.make(SCRIPT)
      const withoutHosts = yield* resolverFor(server, { hostsFile: false })
      const missing = yield* resolverFor(server, { hostsFile: "/nonexistent/hosts" })
      const hosts = yield* hostsFile("192.0.2.10 v4only.test\n")
      const withHosts = yield* resolverFor(server, { hostsFile: hosts })
      assert.deepStrictEqual(yield* withHosts.resolve("v4only.test", 4), ["192.0.2.10"])
      assert.deepStrictEqual(yield* withoutHosts.resolve("v4only.test", 4), ["192.0.2.4"])
      assert.deepStrictEqual(yield* missing.resolve("v4only.test", 4), ["192.0.2.4"])
    }))

  it.scoped("answers IP literals themselves", () =>
    Effect.gen(function*() {
      const server = yield* DnsServer.make(SCRIPT)
      const resolver = yield* resolverFor(server)
      assert.deepStrictEqual(yield* resolver.resolve("192.0.2.1", 4), ["192.0.2.1"])
      assert.deepStrictEqual(yield* resolver.resolve("2001:db8::1", 6), ["2001:db8::1"])
      const other = yield* Effect.flip(resolver.resolve("192.0.2.1", 6))
      assert.strictEqual(other.code, "ENODATA")
      assert.deepStrictEqual(server.questions, [])
    }))

  it.scoped("refuses a name that is empty or too long, before any query", () =>
    Effect.gen(function*() {
      const server = yield* DnsServer.make(SCRIPT)
      const resolver = yield* resolverFor(server)
      assert.strictEqual((yield* Effect.flip(resolver.resolve("", 4))).code, "EINVAL")
      assert.strictEqual((yield* Effect.flip(resolver.resolve(`${"a".repeat(63)}.`.repeat(5), 4))).code, "EINVAL")
      assert.deepStrictEqual(server.questions, [])
    }))

  it.effect("fails to build with EINVAL for a malformed server address or port or a bad option, not as a query", () =>
    Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [string, string]> = [
        ["not an address", "Not an IP address"],
        ["bogus", "Not an IP address"],
        ["", "Not an IP address"],
        ["127.0.0.1:99999", "Port must be an integer from 1 to 65535, got 99999"],
        // Port 0 would abort the whole process inside c-ares (Node 20).
        ["127.0.0.1:0", "Port must be an integer from 1 to 65535, got 0"],
        ["[::1]:65536", "Port must be an integer from 1 to 65535, got 65536"],
        ["127.0.0.1:dns", "Port must be an integer from 1 to 65535, got dns"]
      ]
      for (const [server, detail] of cases) {
        const error = yield* Effect.flip(Layer.build(NodeResolver.layer({ servers: ["127.0.0.1", server] })).pipe(Effect.scoped))
        assert.strictEqual(error.reason, "Invalid")
        assert.strictEqual(error.code, "EINVAL")
        assert.strictEqual(error.server, server)
        assert.strictEqual(error.message, `Invalid DNS server address "${server}": ${detail} (EINVAL)`)
      }
      const option = yield* Effect.flip(Layer.build(NodeResolver.layer({ tries: 0 })).pipe(Effect.scoped))
      assert.strictEqual(option.option, "tries")
      assert.strictEqual(option.message, "Invalid option tries: 0, expected an integer from 1 to 2147483647 (EINVAL)")
      for (const server of ["127.0.0.1:53", "[::1]:5353", "::1", "[::1]", "192.0.2.53"]) {
        yield* Layer.build(NodeResolver.layer({ servers: [server], hostsFile: false })).pipe(Effect.scoped)
      }
    }))

  it.scoped("is a Resolver layer, and Resolver.cached keeps its answers for their TTL", () =>
    Effect.gen(function*() {
      const server = yield* DnsServer.make(SCRIPT)
      const layer = Resolver.cached().pipe(Layer.provide(NodeResolver.layer({ servers: [server.address], hostsFile: false })))
      const twice = Effect.zipRight(Resolver.resolve("dual.test", 4), Resolver.resolve("dual.test", 4))
      assert.deepStrictEqual(yield* Effect.provide(twice, layer), ["192.0.2.1", "192.0.2.2"])
      assert.deepStrictEqual(server.questions, ["A dual.test"])
    }))
})
