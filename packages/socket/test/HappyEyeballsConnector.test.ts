import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Clock from "effect/Clock"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as fc from "effect/FastCheck"
import * as Fiber from "effect/Fiber"
import { pipe } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import { Connector } from "../src/Connector.js"
import * as HappyEyeballsConnector from "../src/HappyEyeballsConnector.js"
import { Resolver } from "../src/Resolver.js"
import { ConnectError, DnsError } from "../src/SocketError.js"
import { type ConnectRow, type DnsRow, makeConnector, makeResolver } from "./fixtures/Scripted.js"

const URI = "tcp://example.test:80"
const v6 = (address: string) => `tcp://[${address}]:80?hostname=example.test`
const v4 = (address: string) => `tcp://${address}:80?hostname=example.test`

const scenario = (
  dns: { readonly 4?: DnsRow; readonly 6?: DnsRow },
  addresses: Record<string, ConnectRow>,
  options?: HappyEyeballsConnector.Options
) => {
  const resolver = makeResolver(dns)
  const connector = makeConnector(addresses)
  const happy = HappyEyeballsConnector.withResolver(connector.service, resolver.service, options)
  return { resolver, connector, connect: (uri = URI) => happy.connect(uri) }
}

/** Runs `effect` to its end under TestClock; gives its exit and the Clock time it ended at. */
const settle = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(Effect.exit(effect).pipe(Effect.zip(Clock.currentTimeMillis)))
    yield* TestClock.adjust(Duration.hours(1))
    const [exit, at] = yield* Fiber.join(fiber)
    return { exit, at }
  })

const connected = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) =>
  Effect.flatMap(settle(effect), ({ at, exit }) => Effect.map(exit, (value) => ({ value, at })))

const failed = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>) =>
  Effect.flatMap(settle(effect), ({ at, exit }) => Effect.map(Effect.flip(exit), (error) => ({ error, at })))

/** Interrupts `effect` once `after` ms have passed; gives the failures its exit holds. */
const cancelAfter = <A, E>(effect: Effect.Effect<A, E, Scope.Scope>, after: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(Duration.millis(after))
    const exit = yield* Fiber.interrupt(fiber)
    assert.isTrue(Exit.isFailure(exit) && Cause.isInterrupted(exit.cause), "the exit is an interruption")
    return Exit.isFailure(exit) ? Chunk.toReadonlyArray(Cause.failures(exit.cause)) : []
  })

const remote = (connection: { readonly remoteAddress: Option.Option<string> }) => Option.getOrThrow(connection.remoteAddress)

describe("HappyEyeballsConnector", () => {
  describe("resolution (RFC 8305 §3)", () => {
    it.scoped("sends the AAAA and A queries at once", () =>
      Effect.gen(function*() {
        const s = scenario({ 6: { delay: 30, answer: ["::1"] }, 4: { delay: 30, answer: ["127.0.0.1"] } }, { "::1": {} })
        yield* connected(s.connect())
        assert.deepStrictEqual(
          s.resolver.log.filter((e) => e.what.startsWith("query")).map((e) => [e.at, e.what]),
          [[0, "query AAAA example.test"], [0, "query A example.test"]]
        )
      }))

    it.scoped("connects over IPv6 as soon as AAAA answers, without waiting for A", () =>
      Effect.gen(function*() {
        const s = scenario({ 6: { delay: 10, answer: ["::1"] }, 4: { delay: "never", answer: ["127.0.0.1"] } }, { "::1": { delay: 5 } })
        const { at, value } = yield* connected(s.connect())
        assert.strictEqual(remote(value), "tcp://[::1]:80")
        assert.strictEqual(at, 15)
        assert.deepStrictEqual(s.connector.opens(), [[10, v6("::1")]])
        // The pending A query belongs to the race and is cancelled with it.
        assert.isTrue(s.resolver.log.some((e) => e.what === "cancel A example.test" && e.at === 15))
      }))

    it.scoped("waits the Resolution Delay (50 ms) for AAAA when A answers first, then uses IPv4", () =>
      Effect.gen(function*() {
        const s = scenario({ 6: { delay: "never", answer: ["::1"] }, 4: { delay: 10, answer: ["127.0.0.1"] } }, { "127.0.0.1": {} })
        const { at, value } = yield* connected(s.connect())
        assert.strictEqual(remote(value), "tcp://127.0.0.1:80")
        assert.deepStrictEqual(s.connector.opens(), [[60, v4("127.0.0.1")]])
        assert.strictEqual(at, 60)
      }))

    it.scoped("starts with IPv6 when AAAA answers within the Resolution Delay", () =>
      Effect.gen(function*() {
        const s = scenario({ 6: { delay: 40, answer: ["::1"] }, 4: { delay: 10, answer: ["127.0.0.1"] } }, { "::1": { delay: 5 } })
        const { at, value } = yield* connected(s.connect())
        assert.strictEqual(remote(value), "tcp://[::1]:80")
        assert.deepStrictEqual(s.connector.opens(), [[40, v6("::1")]])
        assert.strictEqual(at, 45)
      }))

    it.scoped("uses IPv4 at once when AAAA fails during the Resolution Delay", () =>
      Effect.gen(function*() {
        const s = scenario({ 6: { delay: 25, answer: "NoData" }, 4: { delay: 10, answer: ["127.0.0.1"] } }, { "127.0.0.1": {} })
        yield* connected(s.connect())
        assert.deepStrictEqual(s.connector.opens(), [[25, v4("127.0.0.1")]])
      }))

    it.scoped("uses IPv4 without a Resolution Delay when AAAA failed first", () =>
      Effect.gen(function*() {
        const s = scenario({ 6: { delay: 5, answer: "NotFound" }, 4: { delay: 10, answer: ["127.0.0.1"] } }, { "127.0.0.1": {} })
        const { value } = yield* connected(s.connect())
        assert.strictEqual(remote(value), "tcp://127.0.0.1:80")
        assert.deepStrictEqual(s.connector.opens(), [[10, v4("127.0.0.1")]])
      }))

    it.scoped("a Resolution Delay of 0 uses IPv4 at once", () =>
      Effect.gen(function*() {
        const s = scenario(
          { 6: { delay: "never", answer: ["::1"] }, 4: { delay: 10, answer: ["127.0.0.1"] } },
          { "127.0.0.1": {} },
          { resolutionDelay: 0 }
        )
        yield* connected(s.connect())
        assert.deepStrictEqual(s.connector.opens(), [[10, v4("127.0.0.1")]])
      }))

    it.scoped("one family failing to resolve does not fail the connect", () =>
      Effect.gen(function*() {
        const s = scenario({ 6: { delay: 0, answer: ["::1"] }, 4: { delay: 0, answer: "ServerFailure" } }, { "::1": {} })
        const { value } = yield* connected(s.connect())
        assert.strictEqual(remote(value), "tcp://[::1]:80")
      }))
  })

  describe("attempts (RFC 8305 §4, §5)", () => {
    it.scoped("alternates the families, IPv6 first, one Connection Attempt Delay (250 ms) apart", () =>
      Effect.gen(function*() {
        const s = scenario(
          { 6: { answer: ["2001:db8::1", "2001:db8::2"] }, 4: { answer: ["192.0.2.1", "192.0.2.2"] } },
          {
            "2001:db8::1": { delay: "never" },
            "2001:db8::2": { delay: "never" },
            "192.0.2.1": { delay: "never" },
            "192.0.2.2": { delay: 100 }
          }
        )
        const { at, value } = yield* connected(s.connect())
        assert.deepStrictEqual(s.connector.opens(), [
          [0, v6("2001:db8::1")],
          [250, v4("192.0.2.1")],
          [500, v6("2001:db8::2")],
          [750, v4("192.0.2.2")]
        ])
        assert.strictEqual(remote(value), "tcp://192.0.2.2:80")
        assert.strictEqual(at, 850)
        // Every loser was still connecting; each was interrupted when the winner connected.
        assert.deepStrictEqual(
          s.connector.log.filter((e) => e.what.startsWith("interrupted")).map((e) => e.at),
          [850, 850, 850]
        )
      }))

    it.scoped("starts the next attempt at once when one fails", () =>
      Effect.gen(function*() {
        const s = scenario(
          { 6: { answer: ["::1"] }, 4: { answer: ["127.0.0.1"] } },
          { "::1": { delay: 20, outcome: "refuse" }, "127.0.0.1": { delay: 5 } }
        )
        const { at, value } = yield* connected(s.connect())
        assert.deepStrictEqual(s.connector.opens(), [[0, v6("::1")], [20, v4("127.0.0.1")]])
        assert.strictEqual(remote(value), "tcp://127.0.0.1:80")
        assert.strictEqual(at, 25)
      }))

    it.scoped("does not abort a slow attempt when the next starts: the first to connect wins", () =>
      Effect.gen(function*() {
        const s = scenario(
          { 6: { answer: ["::1"] }, 4: { answer: ["127.0.0.1"] } },
          { "::1": { delay: 400 }, "127.0.0.1": { delay: 300 } }
        )
        const { at, value } = yield* connected(s.connect())
        assert.deepStrictEqual(s.connector.opens(), [[0, v6("::1")], [250, v4("127.0.0.1")]])
        assert.strictEqual(remote(value), "tcp://[::1]:80")
        assert.strictEqual(at, 400)
        assert.deepStrictEqual(s.connector.log.filter((e) => e.what.startsWith("interrupted")), [
          { at: 400, what: `interrupted ${v4("127.0.0.1")}` }
        ])
      }))

    it.scoped("merges addresses that arrive later into the list", () =>
      Effect.gen(function*() {
        const s = scenario(
          { 6: { delay: 0, answer: ["::1"] }, 4: { delay: 100, answer: ["127.0.0.1"] } },
          { "::1": { delay: "never" }, "127.0.0.1": { delay: 10 } }
        )
        const { at, value } = yield* connected(s.connect())
        assert.deepStrictEqual(s.connector.opens(), [[0, v6("::1")], [250, v4("127.0.0.1")]])
        assert.strictEqual(remote(value), "tcp://127.0.0.1:80")
        assert.strictEqual(at, 260)
      }))

    it.scoped("tries an address that arrives while no attempt is in flight at once", () =>
      Effect.gen(function*() {
        const s = scenario(
          { 6: { delay: 0, answer: ["::1"] }, 4: { delay: 100, answer: ["127.0.0.1"] } },
          { "::1": { delay: 10, outcome: "refuse" }, "127.0.0.1": {} }
        )
        const { at } = yield* connected(s.connect())
        assert.deepStrictEqual(s.connector.opens(), [[0, v6("::1")], [100, v4("127.0.0.1")]])
        assert.strictEqual(at, 100)
      }))

    it.scoped("tries an address at once when the Connection Attempt Delay has passed", () =>
      Effect.gen(function*() {
        const s = scenario(
          { 6: { delay: 0, answer: ["::1"] }, 4: { delay: 400, answer: ["127.0.0.1"] } },
          { "::1": { delay: "never" }, "127.0.0.1": {} }
        )
        yield* connected(s.connect())
        assert.deepStrictEqual(s.connector.opens(), [[0, v6("::1")], [400, v4("127.0.0.1")]])
      }))

    it.scoped("takes the Connection Attempt Delay from the options", () =>
      Effect.gen(function*() {
        const s = scenario(
          { 6: { answer: ["::1"] }, 4: { answer: ["127.0.0.1"] } },
          { "::1": { delay: "never" }, "127.0.0.1": {} },
          { connectionAttemptDelay: "100 millis" }
        )
        yield* connected(s.connect())
        assert.deepStrictEqual(s.connector.opens(), [[0, v6("::1")], [100, v4("127.0.0.1")]])
      }))

    it.scoped("raises a Connection Attempt Delay under 10 ms to 10 ms", () =>
      Effect.gen(function*() {
        const s = scenario(
          { 6: { answer: ["::1"] }, 4: { answer: ["127.0.0.1"] } },
          { "::1": { delay: "never" }, "127.0.0.1": {} },
          { connectionAttemptDelay: 0 }
        )
        yield* connected(s.connect())
        assert.deepStrictEqual(s.connector.opens(), [[0, v6("::1")], [10, v4("127.0.0.1")]])
      }))

    it.scoped("keeps the URI's path, query and hostname parameter", () =>
      Effect.gen(function*() {
        const s = scenario({ 6: { answer: ["::1"] }, 4: { answer: "NoData" } }, { "::1": {} })
        yield* connected(s.connect("tcp://example.test:80/path?hostname=other.test&x=1#f"))
        assert.deepStrictEqual(s.connector.opens(), [[0, "tcp://[::1]:80/path?hostname=other.test&x=1#f"]])
        yield* connected(s.connect("tls://example.test:443?x=1"))
        assert.strictEqual(s.connector.opens()[1]?.[1], "tls://[::1]:443?x=1&hostname=example.test")
      }))

    it.scoped("connects IP literals through the inner connector unchanged, without DNS", () =>
      Effect.gen(function*() {
        const s = scenario({}, { "::1": {}, "127.0.0.1": {} })
        yield* connected(s.connect("[::1]:80"))
        yield* connected(s.connect("tcp://127.0.0.1:80?x=1"))
        assert.deepStrictEqual(s.connector.opens().map(([, uri]) => uri), ["[::1]:80", "tcp://127.0.0.1:80?x=1"])
        assert.deepStrictEqual(s.resolver.queries(), [])
      }))

    it.scoped("fails with EINVAL for a malformed URI, before any query", () =>
      Effect.gen(function*() {
        const s = scenario({ 6: { answer: ["::1"] } }, {})
        const { error } = yield* failed(s.connect("tcp://example.test"))
        assert.strictEqual(error.reason, "InvalidUri")
        assert.strictEqual(error.code, "EINVAL")
        assert.deepStrictEqual(s.resolver.queries(), [])
      }))
  })

  describe("the winner and the losers", () => {
    it.scoped("two attempts connecting in the same instant: one is returned, the other closed exactly once", () =>
      Effect.gen(function*() {
        const s = scenario(
          { 6: { answer: ["::1"] }, 4: { answer: ["127.0.0.1"] } },
          { "::1": { delay: 300, uninterruptible: true }, "127.0.0.1": { delay: 50, uninterruptible: true } }
        )
        const { at, value } = yield* connected(s.connect())
        assert.strictEqual(at, 300)
        assert.strictEqual(s.connector.count("connected"), 2)
        const winner = remote(value) === "tcp://[::1]:80" ? v6("::1") : v4("127.0.0.1")
        const loser = winner === v6("::1") ? v4("127.0.0.1") : v6("::1")
        assert.strictEqual(s.connector.closes(loser), 1)
        assert.strictEqual(s.connector.closes(winner), 0, "the winner belongs to the caller's scope")
      }))

    it.effect("hands the winner to the caller's scope, which closes it", () =>
      Effect.gen(function*() {
        const s = scenario({ 6: { answer: ["::1"] }, 4: { answer: ["127.0.0.1"] } }, { "::1": { delay: 300 }, "127.0.0.1": {} })
        yield* Effect.scoped(connected(s.connect()))
        assert.strictEqual(s.connector.closes(v4("127.0.0.1")), 1)
        assert.strictEqual(s.connector.closes(v6("::1")), 0)
        assert.strictEqual(s.connector.count("interrupted"), 1)
      }))
  })

  describe("failures", () => {
    it.scoped("IPv6 refused then IPv4 refused: one error naming both", () =>
      Effect.gen(function*() {
        const s = scenario(
          { 6: { answer: ["::1"] }, 4: { answer: ["127.0.0.1"] } },
          { "::1": { delay: 10, outcome: "refuse" }, "127.0.0.1": { delay: 10, outcome: "refuse" } }
        )
        const { at, error } = yield* failed(s.connect())
        assert.strictEqual(at, 20)
        assert.instanceOf(error, ConnectError)
        assert.strictEqual(error.reason, "Failed")
        assert.strictEqual(error.code, "ECONNREFUSED")
        assert.strictEqual(
          error.message,
          "Connection to tcp://example.test:80 failed: Last error for IPv4: Connection to tcp://127.0.0.1:80 failed: " +
            "Connection refused (ECONNREFUSED). Previous error for IPv6: Connection to tcp://[::1]:80 failed: Connection refused (ECONNREFUSED)"
        )
        assert.strictEqual((error.cause as ReadonlyArray<ConnectError>).length, 2)
      }))

    it.scoped("names the family that failed last first", () =>
      Effect.gen(function*() {
        const s = scenario(
          { 6: { answer: ["::1"] }, 4: { answer: ["127.0.0.1"] } },
          { "::1": { delay: 300, outcome: "refuse" }, "127.0.0.1": { delay: 10, outcome: "refuse" } }
        )
        const { at, error } = yield* failed(s.connect())
        assert.strictEqual(at, 300)
        assert.match(error.message, /failed: Last error for IPv6: Connection to tcp:\/\/\[::1\]:80 failed: .*\. Previous error for IPv4: /)
      }))

    it.scoped("counts a failed lookup as its family's error", () =>
      Effect.gen(function*() {
        const s = scenario({ 6: { answer: ["::1", "::2"] }, 4: { answer: "NotFound" } }, {})
        const { error } = yield* failed(s.connect())
        assert.strictEqual(
          error.message,
          "Connection to tcp://example.test:80 failed: Last error for IPv6: Connection to tcp://[::2]:80 failed: Connection refused " +
            "(ECONNREFUSED). Previous error for IPv4: DNS query for example.test (A) failed: NotFound for A (ENOTFOUND)"
        )
        assert.strictEqual(s.connector.opens().length, 2)
      }))

    it.scoped("both lookups failing with the same text: failed during DNS lookup, with no attempt", () =>
      Effect.gen(function*() {
        const c = makeConnector({})
        const resolver = Resolver.of({
          resolve: (host) => Effect.fail(new DnsError({ reason: "Other", host, code: "EOTHER", detail: "DNS lookup error" }))
        })
        const { error } = yield* failed(HappyEyeballsConnector.withResolver(c.service, resolver).connect(URI))
        assert.strictEqual(
          error.message,
          "Connection to tcp://example.test:80 failed during DNS lookup: DNS query for example.test failed: DNS lookup error (EOTHER)"
        )
        assert.strictEqual(error.stage, "DNS lookup")
        assert.deepStrictEqual(c.opens(), [])
      }))

    it.scoped("both lookups failing differently: both errors, the last first", () =>
      Effect.gen(function*() {
        const s = scenario({ 6: { delay: 20, answer: "ServerFailure" }, 4: { delay: 10, answer: "NotFound" } }, {})
        const { at, error } = yield* failed(s.connect())
        assert.strictEqual(at, 20)
        assert.strictEqual(error.stage, "DNS lookup")
        assert.strictEqual(error.code, "ESERVFAIL")
        assert.strictEqual(
          error.message,
          "Connection to tcp://example.test:80 failed during DNS lookup: Last error for IPv6: DNS query for example.test (AAAA) failed: " +
            "ServerFailure for AAAA (ESERVFAIL). Previous error for IPv4: DNS query for example.test (A) failed: NotFound for A (ENOTFOUND)"
        )
        assert.deepStrictEqual(s.connector.opens(), [])
      }))

    it.scoped("an inner EINVAL counts as that attempt's failure", () =>
      Effect.gen(function*() {
        const s = scenario({ 6: { answer: ["::1"] }, 4: { answer: ["127.0.0.1"] } }, { "::1": { outcome: "invalid" }, "127.0.0.1": {} })
        const { at, value } = yield* connected(s.connect())
        assert.strictEqual(remote(value), "tcp://127.0.0.1:80")
        assert.strictEqual(at, 0)
      }))
  })

  describe("cancellation", () => {
    it.scoped("cancelled while waiting out the Resolution Delay: ECONNABORTED during DNS lookup, no attempt", () =>
      Effect.gen(function*() {
        const s = scenario({ 6: { delay: "never", answer: ["::1"] }, 4: { delay: 10, answer: ["127.0.0.1"] } }, { "127.0.0.1": {} })
        const errors = yield* cancelAfter(s.connect(), 30)
        assert.deepStrictEqual(errors.map((e) => e.message), [
          "Connection to tcp://example.test:80 cancelled during DNS lookup (ECONNABORTED)"
        ])
        assert.strictEqual(errors[0]!.code, "ECONNABORTED")
        assert.deepStrictEqual(s.connector.opens(), [])
        yield* TestClock.adjust("1 second")
        assert.deepStrictEqual(s.connector.opens(), [], "no attempt starts after the cancel either")
        assert.isTrue(s.resolver.log.some((e) => e.what === "cancel AAAA example.test"))
      }))

    it.scoped("cancelled during both lookups: cancels both queries", () =>
      Effect.gen(function*() {
        const s = scenario({ 6: { delay: "never", answer: ["::1"] }, 4: { delay: "never", answer: ["127.0.0.1"] } }, {})
        const errors = yield* cancelAfter(s.connect(), 5)
        assert.strictEqual(errors[0]?.message, "Connection to tcp://example.test:80 cancelled during DNS lookup (ECONNABORTED)")
        assert.deepStrictEqual(
          s.resolver.log.filter((e) => e.what.startsWith("cancel")).map((e) => e.what).sort(),
          ["cancel A example.test", "cancel AAAA example.test"]
        )
      }))

    it.scoped("cancelled while attempts run: interrupts every attempt and pending query", () =>
      Effect.gen(function*() {
        const s = scenario(
          { 6: { delay: 0, answer: ["::1"] }, 4: { delay: 260, answer: ["127.0.0.1"] } },
          { "::1": { delay: "never" } }
        )
        const errors = yield* cancelAfter(s.connect(), 100)
        assert.strictEqual(errors[0]?.message, "Connection to tcp://example.test:80 cancelled (ECONNABORTED)")
        assert.deepStrictEqual(s.connector.log.map((e) => [e.at, e.what]), [[0, `open ${v6("::1")}`], [100, `interrupted ${v6("::1")}`]])
        assert.isTrue(s.resolver.log.some((e) => e.what === "cancel A example.test"))
      }))
  })

  it.scoped("decorates data-last too, with or without options", () =>
    Effect.gen(function*() {
      const resolver = makeResolver({ 6: { answer: ["::1"] }, 4: { answer: ["127.0.0.1"] } })
      const connector = makeConnector({ "::1": { delay: "never" }, "127.0.0.1": {} })
      const plain = pipe(connector.service, HappyEyeballsConnector.withResolver(resolver.service))
      const quick = pipe(connector.service, HappyEyeballsConnector.withResolver(resolver.service, { connectionAttemptDelay: "20 millis" }))
      assert.strictEqual((yield* connected(plain.connect(URI))).at, 250)
      const start = yield* Clock.currentTimeMillis
      assert.strictEqual((yield* connected(quick.connect(URI))).at - start, 20)
    }))

  it.scoped("is a layer over the Connector and Resolver in context", () =>
    Effect.gen(function*() {
      const resolver = makeResolver({ 6: { answer: ["::1"] }, 4: { answer: ["127.0.0.1"] } })
      const connector = makeConnector({ "::1": {} })
      const layer = HappyEyeballsConnector.layer({ connectionAttemptDelay: "1 second" }).pipe(
        Layer.provide(Layer.succeed(Connector, connector.service)),
        Layer.provide(Layer.succeed(Resolver, resolver.service))
      )
      const happy = yield* Effect.provide(Connector, layer)
      const { value } = yield* connected(happy.connect(URI))
      assert.strictEqual(remote(value), "tcp://[::1]:80")
    }))
})

describe("HappyEyeballsConnector properties", () => {
  const V6 = ["2001:db8::1", "2001:db8::2", "2001:db8::3"]
  const V4 = ["192.0.2.1", "192.0.2.2", "192.0.2.3"]
  const dnsRow = (pool: ReadonlyArray<string>) =>
    fc.record({
      delay: fc.integer({ min: 0, max: 400 }),
      answer: fc.oneof(fc.subarray([...pool], { minLength: 1 }), fc.constantFrom("NotFound" as const, "Timeout" as const))
    })
  const connectRow = fc.record({ delay: fc.integer({ min: 0, max: 700 }), outcome: fc.constantFrom("connect" as const, "refuse" as const) })
  const arbitraries = {
    dns: fc.record({ 6: dnsRow(V6), 4: dnsRow(V4) }),
    rows: fc.tuple(...[...V6, ...V4].map(() => connectRow))
  }

  it.scoped.prop("one winner, every other connection closed exactly once, no attempt early", arbitraries, ({ dns, rows }) =>
    Effect.gen(function*() {
      const addresses = Object.fromEntries([...V6, ...V4].map((address, i) => [address, rows[i]!]))
      const s = scenario(dns, addresses)
      const { exit } = yield* settle(s.connect())
      const resolved = [...(typeof dns[6].answer === "string" ? [] : dns[6].answer), ...(typeof dns[4].answer === "string" ? [] : dns[4].answer)]
      const reachable = resolved.some((address) => addresses[address]!.outcome === "connect")
      assert.strictEqual(Exit.isSuccess(exit), reachable, "succeeds exactly when an address connects")

      const log = s.connector.log
      const uriOf = (address: string) => (address.includes(":") ? v6(address) : v4(address))
      const winner = Exit.isSuccess(exit) ? remote(exit.value) : undefined
      for (const address of resolved) {
        const uri = uriOf(address)
        const opened = log.filter((e) => e.what === `open ${uri}`).length
        assert.isAtMost(opened, 1, `${address} is tried at most once`)
        const connected = s.connector.count(`connected ${uri}`)
        const isWinner = winner !== undefined && winner.includes(address)
        assert.strictEqual(s.connector.closes(uri), connected === 1 && !isWinner ? 1 : 0, `${address} closed once unless it won`)
        const ended = ["connected", "refused", "interrupted"].map((what) => s.connector.count(`${what} ${uri}`))
        assert.strictEqual(ended.reduce((a, b) => a + b, 0), opened, `${address}'s attempt ended once`)
      }
      // RFC 8305 §5: an attempt starts only once the previous one failed or the delay passed.
      const opens = s.connector.opens()
      for (let i = 1; i < opens.length; i++) {
        const [previousAt, previousUri] = opens[i - 1]!
        const failedAt = log.find((e) => e.what === `refused ${previousUri}`)?.at ?? Infinity
        assert.isAtLeast(opens[i]![0], Math.min(previousAt + 250, failedAt), `attempt ${i} not early`)
      }
    }), { fastCheck: { numRuns: 50 } })
})
