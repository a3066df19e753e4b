import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { pipe } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as TestClock from "effect/TestClock"
import { Connector } from "../src/Connector.js"
import * as DnsConnector from "../src/DnsConnector.js"
import { Resolver } from "../src/Resolver.js"
import { ConnectError, DnsError } from "../src/SocketError.js"
import { type ConnectRow, type DnsRow, makeConnector, makeResolver } from "./fixtures/Scripted.js"

const scenario = (dns: { readonly 4?: DnsRow; readonly 6?: DnsRow }, addresses: Record<string, ConnectRow>) => {
  const resolver = makeResolver(dns)
  const connector = makeConnector(addresses)
  return { resolver, connector, dns: DnsConnector.withResolver(connector.service, resolver.service) }
}

/** Interrupts `effect` after `after` ms of TestClock time; gives the failures its exit holds. */
const cancelAfter = <A, E, R>(effect: Effect.Effect<A, E, R>, after: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    yield* TestClock.adjust(after)
    const exit = yield* Fiber.interrupt(fiber)
    assert.isTrue(Exit.isFailure(exit) && Cause.isInterrupted(exit.cause))
    return Exit.isFailure(exit) ? Chunk.toReadonlyArray(Cause.failures(exit.cause)) : []
  })

describe("DnsConnector", () => {
  it.scoped("connects IP literals straight through, without a lookup", () =>
    Effect.gen(function*() {
      const s = scenario({}, { "1.2.3.4": {}, "::1": {} })
      yield* s.dns.connect("1.2.3.4:80")
      yield* s.dns.connect("tcp://[::1]:80/path?query#fragment")
      assert.deepStrictEqual(s.connector.opens().map(([, uri]) => uri), ["1.2.3.4:80", "tcp://[::1]:80/path?query#fragment"])
      assert.deepStrictEqual(s.resolver.queries(), [])
    }))

  it.scoped("resolves the host (A) and connects to the address with hostname=<name>", () =>
    Effect.gen(function*() {
      const s = scenario({ 4: { answer: ["1.2.3.4", "5.6.7.8"] } }, { "1.2.3.4": {} })
      const connection = yield* s.dns.connect("example.com:80")
      assert.deepStrictEqual(s.resolver.queries(), ["query A example.com"])
      assert.deepStrictEqual(s.connector.opens().map(([, uri]) => uri), ["tcp://1.2.3.4:80?hostname=example.com"])
      assert.deepStrictEqual(connection.remoteAddress, Option.some("tcp://1.2.3.4:80"))
    }))

  it.scoped("keeps scheme, path, query and fragment, and an explicit hostname", () =>
    Effect.gen(function*() {
      const s = scenario({ 4: { answer: ["1.2.3.4"] } }, { "1.2.3.4": {} })
      yield* s.dns.connect("tls://example.com:443/path?x=1#frag")
      yield* s.dns.connect("tcp://example.com:80?hostname=other.example")
      assert.deepStrictEqual(s.connector.opens().map(([, uri]) => uri), [
        "tls://1.2.3.4:443/path?x=1&hostname=example.com#frag",
        "tcp://1.2.3.4:80?hostname=other.example"
      ])
    }))

  it.scoped("fails with EINVAL for a malformed URI, before any lookup", () =>
    Effect.gen(function*() {
      const s = scenario({ 4: { answer: ["1.2.3.4"] } }, {})
      const error = yield* Effect.flip(s.dns.connect("example.com"))
      assert.strictEqual(error.reason, "InvalidUri")
      assert.strictEqual(error.message, `Given URI "example.com" is invalid: missing port (EINVAL)`)
      assert.deepStrictEqual(s.resolver.queries(), [])
    }))

  it.scoped("fails during DNS lookup without connecting when the lookup fails", () =>
    Effect.gen(function*() {
      const s = scenario({ 4: { answer: "NotFound" } }, {})
      const error = yield* Effect.flip(s.dns.connect("example.invalid:80"))
      assert.strictEqual(
        error.message,
        "Connection to tcp://example.invalid:80 failed during DNS lookup: DNS query for example.invalid (A) failed: NotFound for A (ENOTFOUND)"
      )
      assert.strictEqual(error.reason, "Failed")
      assert.strictEqual(error.stage, "DNS lookup")
      assert.strictEqual(error.code, "ENOTFOUND")
      assert.instanceOf(error.cause, DnsError)
      assert.deepStrictEqual(s.connector.opens(), [])
    }))

  it.scoped("passes the inner error for an IP literal unchanged", () =>
    Effect.gen(function*() {
      const s = scenario({}, { "1.2.3.4": { outcome: "refuse" } })
      const error = yield* Effect.flip(s.dns.connect("1.2.3.4:80"))
      assert.strictEqual(error.message, "Connection to 1.2.3.4:80 failed: Connection refused (ECONNREFUSED)")
    }))

  it.scoped("names the original URI in the inner connector's error, without the hostname parameter", () =>
    Effect.gen(function*() {
      const s = scenario({ 4: { answer: ["1.2.3.4"] } }, { "1.2.3.4": { outcome: "refuse" } })
      const error = yield* Effect.flip(s.dns.connect("example.com:80"))
      assert.strictEqual(
        error.message,
        "Connection to tcp://example.com:80 failed: Connection to tcp://1.2.3.4:80 failed: Connection refused (ECONNREFUSED)"
      )
      assert.strictEqual(error.uri, "tcp://example.com:80")
      assert.strictEqual(error.code, "ECONNREFUSED")
      assert.strictEqual(error.stage, "TCP/IP handshake")
      assert.instanceOf(error.cause, ConnectError)
    }))

  it.scoped("passes the inner connector's EINVAL unchanged", () =>
    Effect.gen(function*() {
      const s = scenario({ 4: { answer: ["1.2.3.4"] } }, { "1.2.3.4": { outcome: "invalid" } })
      const error = yield* Effect.flip(s.dns.connect("example.com:80"))
      assert.strictEqual(error.reason, "InvalidUri")
      assert.strictEqual(error.uri, "tcp://1.2.3.4:80?hostname=example.com")
    }))

  it.scoped("cancelled during the lookup: cancels the query, connects nothing, ECONNABORTED during DNS lookup", () =>
    Effect.gen(function*() {
      const s = scenario({ 4: { delay: 100, answer: ["1.2.3.4"] } }, { "1.2.3.4": {} })
      const errors = yield* cancelAfter(s.dns.connect("example.com:80"), 50)
      assert.deepStrictEqual(errors.map((e) => e.message), ["Connection to tcp://example.com:80 cancelled during DNS lookup (ECONNABORTED)"])
      assert.deepStrictEqual(s.resolver.log.map((e) => [e.at, e.what]), [[0, "query A example.com"], [50, "cancel A example.com"]])
      yield* TestClock.adjust(100)
      assert.deepStrictEqual(s.connector.opens(), [])
    }))

  it.scoped("cancelled while connecting: interrupts the inner connect, ECONNABORTED", () =>
    Effect.gen(function*() {
      const s = scenario({ 4: { delay: 10, answer: ["1.2.3.4"] } }, { "1.2.3.4": { delay: 100 } })
      const errors = yield* cancelAfter(s.dns.connect("example.com:80"), 50)
      assert.deepStrictEqual(errors.map((e) => e.message), ["Connection to tcp://example.com:80 cancelled (ECONNABORTED)"])
      assert.deepStrictEqual(s.connector.log.map((e) => [e.at, e.what]), [
        [10, "open tcp://1.2.3.4:80?hostname=example.com"],
        [50, "interrupted tcp://1.2.3.4:80?hostname=example.com"]
      ])
    }))

  it.effect("the connection belongs to the caller's scope", () =>
    Effect.gen(function*() {
      const s = scenario({ 4: { answer: ["1.2.3.4"] } }, { "1.2.3.4": {} })
      yield* Effect.scoped(s.dns.connect("example.com:80"))
      assert.strictEqual(s.connector.closes("tcp://1.2.3.4:80?hostname=example.com"), 1)
    }))

  it.scoped("decorates data-last too", () =>
    Effect.gen(function*() {
      const resolver = makeResolver({ 4: { answer: ["1.2.3.4"] } })
      const connector = makeConnector({ "1.2.3.4": {} })
      const dns = pipe(connector.service, DnsConnector.withResolver(resolver.service))
      yield* dns.connect("example.com:80")
      assert.deepStrictEqual(connector.opens().map(([, uri]) => uri), ["tcp://1.2.3.4:80?hostname=example.com"])
    }))

  it.scoped("is a layer over the Connector and Resolver in context", () =>
    Effect.gen(function*() {
      const resolver = makeResolver({ 4: { answer: ["1.2.3.4"] } })
      const connector = makeConnector({ "1.2.3.4": {} })
      const layer = DnsConnector.layer.pipe(
        Layer.provide(Layer.succeed(Connector, connector.service)),
        Layer.provide(Layer.succeed(Resolver, resolver.service))
      )
      const connection = yield* Effect.flatMap(Effect.provide(Connector, layer), (c) => c.connect("example.com:80"))
      assert.deepStrictEqual(connection.remoteAddress, Option.some("tcp://1.2.3.4:80"))
    }))
})
