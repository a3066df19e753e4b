import { assert, describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as Layer from "effect/Layer"
import * as Scope from "effect/Scope"
import * as TestClock from "effect/TestClock"
import * as Resolver from "../src/Resolver.js"
import { type DnsRow, makeResolver } from "./fixtures/Scripted.js"

const cachedScenario = (
  rows: { readonly 4?: DnsRow; readonly 6?: DnsRow },
  options?: Resolver.CacheOptions,
  withTtl = true
) =>
  Effect.gen(function*() {
    const inner = makeResolver(rows, { withTtl })
    const cache = yield* Resolver.makeCached(inner.service, options)
    return { inner, cache, queries: () => inner.queries().length }
  })

describe("Resolver.cached", () => {
  it.scoped("keeps an answer for its TTL, then asks again", () =>
    Effect.gen(function*() {
      const s = yield* cachedScenario({ 4: { answer: ["192.0.2.1"], ttl: 30 } })
      assert.deepStrictEqual(yield* s.cache.resolve("example.test", 4), ["192.0.2.1"])
      yield* TestClock.adjust("29 seconds")
      assert.deepStrictEqual(yield* s.cache.resolve("example.test", 4), ["192.0.2.1"])
      assert.strictEqual(s.queries(), 1)
      yield* TestClock.adjust("1 second")
      yield* s.cache.resolve("example.test", 4)
      assert.strictEqual(s.queries(), 2)
    }))

  it.scoped("gives the remaining TTL with a cached answer", () =>
    Effect.gen(function*() {
      const s = yield* cachedScenario({ 6: { answer: ["2001:db8::1"], ttl: 30 } })
      yield* s.cache.resolve("example.test", 6)
      yield* TestClock.adjust("10 seconds")
      const answers = yield* s.cache.resolveWithTtl!("example.test", 6)
      assert.deepStrictEqual(answers.map((a) => [a.address, Duration.toSeconds(a.ttl)]), [["2001:db8::1", 20]])
    }))

  it.scoped("caps the TTL at maxTtl", () =>
    Effect.gen(function*() {
      const s = yield* cachedScenario({ 4: { answer: ["192.0.2.1"], ttl: 86400 } }, { maxTtl: "1 minute" })
      yield* s.cache.resolve("example.test", 4)
      yield* TestClock.adjust("59 seconds")
      yield* s.cache.resolve("example.test", 4)
      assert.strictEqual(s.queries(), 1)
      yield* TestClock.adjust("1 second")
      yield* s.cache.resolve("example.test", 4)
      assert.strictEqual(s.queries(), 2)
    }))

  it.scoped("does not keep an answer whose TTL is 0", () =>
    Effect.gen(function*() {
      const s = yield* cachedScenario({ 4: { answer: ["192.0.2.1"], ttl: 0 } })
      yield* s.cache.resolve("example.test", 4)
      yield* s.cache.resolve("example.test", 4)
      assert.strictEqual(s.queries(), 2)
    }))

  it.scoped("keeps answers of a resolver without TTLs for defaultTtl", () =>
    Effect.gen(function*() {
      const s = yield* cachedScenario({ 4: { answer: ["192.0.2.1"] } }, { defaultTtl: "5 seconds" }, false)
      yield* s.cache.resolve("example.test", 4)
      yield* TestClock.adjust("4 seconds")
      yield* s.cache.resolve("example.test", 4)
      assert.strictEqual(s.queries(), 1)
      yield* TestClock.adjust("1 second")
      yield* s.cache.resolve("example.test", 4)
      assert.strictEqual(s.queries(), 2)
    }))

  it.scoped("remembers a failure for failureTtl only", () =>
    Effect.gen(function*() {
      const s = yield* cachedScenario({ 4: { answer: "NotFound" } }, { failureTtl: "2 seconds" })
      const first = yield* Effect.flip(s.cache.resolve("gone.test", 4))
      const second = yield* Effect.flip(s.cache.resolve("gone.test", 4))
      assert.strictEqual(first.code, "ENOTFOUND")
      assert.strictEqual(second, first)
      assert.strictEqual(s.queries(), 1)
      yield* TestClock.adjust("2 seconds")
      yield* Effect.flip(s.cache.resolve("gone.test", 4))
      assert.strictEqual(s.queries(), 2)
    }))

  it.scoped("keeps families and names apart, names case-insensitively", () =>
    Effect.gen(function*() {
      const s = yield* cachedScenario({ 4: { answer: ["192.0.2.1"] }, 6: { answer: ["2001:db8::1"] } })
      assert.deepStrictEqual(yield* s.cache.resolve("Example.Test", 4), ["192.0.2.1"])
      assert.deepStrictEqual(yield* s.cache.resolve("example.test", 6), ["2001:db8::1"])
      yield* s.cache.resolve("example.test", 4)
      yield* s.cache.resolve("other.test", 4)
      assert.deepStrictEqual(s.inner.queries(), ["query A Example.Test", "query AAAA example.test", "query A other.test"])
    }))

  it.scoped("holds at most capacity answers, dropping the least recently used", () =>
    Effect.gen(function*() {
      const s = yield* cachedScenario({ 4: { answer: ["192.0.2.1"] } }, { capacity: 2 })
      yield* s.cache.resolve("a.test", 4)
      yield* s.cache.resolve("b.test", 4)
      yield* s.cache.resolve("a.test", 4) // a is now the most recently used
      yield* s.cache.resolve("c.test", 4) // drops b
      yield* s.cache.resolve("a.test", 4)
      yield* s.cache.resolve("b.test", 4)
      assert.deepStrictEqual(s.inner.queries(), ["query A a.test", "query A b.test", "query A c.test", "query A b.test"])
    }))

  it.scoped("shares one query between overlapping lookups of a name", () =>
    Effect.gen(function*() {
      const s = yield* cachedScenario({ 4: { delay: 100, answer: ["192.0.2.1"] } })
      const lookups = yield* Effect.fork(Effect.all([s.cache.resolve("example.test", 4), s.cache.resolve("example.test", 4)], { concurrency: 2 }))
      yield* TestClock.adjust(100)
      assert.deepStrictEqual(yield* Fiber.join(lookups), [["192.0.2.1"], ["192.0.2.1"]])
      assert.strictEqual(s.queries(), 1)
    }))

  it.scoped("a shared query goes on while one of its callers remains", () =>
    Effect.gen(function*() {
      const s = yield* cachedScenario({ 4: { delay: 100, answer: ["192.0.2.1"] } })
      const first = yield* Effect.fork(s.cache.resolve("example.test", 4))
      const second = yield* Effect.fork(s.cache.resolve("example.test", 4))
      yield* TestClock.adjust(50)
      yield* Fiber.interrupt(first)
      yield* TestClock.adjust(50)
      assert.deepStrictEqual(yield* Fiber.join(second), ["192.0.2.1"])
      assert.deepStrictEqual(s.inner.log.map((e) => e.what), ["query A example.test", "answer A example.test"])
    }))

  it.scoped("interrupting every caller cancels the query, and the next lookup asks again", () =>
    Effect.gen(function*() {
      const s = yield* cachedScenario({ 4: { delay: 100, answer: ["192.0.2.1"] } })
      const first = yield* Effect.fork(s.cache.resolve("example.test", 4))
      const second = yield* Effect.fork(s.cache.resolve("example.test", 4))
      yield* TestClock.adjust(50)
      yield* Fiber.interrupt(first)
      yield* Fiber.interrupt(second)
      assert.deepStrictEqual(s.inner.log.map((e) => [e.at, e.what]), [[0, "query A example.test"], [50, "cancel A example.test"]])
      const third = yield* Effect.fork(s.cache.resolve("example.test", 4))
      yield* TestClock.adjust(100)
      assert.deepStrictEqual(yield* Fiber.join(third), ["192.0.2.1"])
      assert.strictEqual(s.queries(), 2)
    }))

  it.effect("closing its scope interrupts the queries in flight", () =>
    Effect.gen(function*() {
      const inner = makeResolver({ 4: { delay: "never", answer: ["192.0.2.1"] } })
      const scope = yield* Scope.make()
      const cache = yield* Scope.extend(Resolver.makeCached(inner.service), scope)
      const lookup = yield* Effect.fork(cache.resolve("example.test", 4))
      yield* TestClock.adjust(10)
      yield* Scope.close(scope, Exit.void)
      assert.deepStrictEqual(inner.log.map((e) => e.what), ["query A example.test", "cancel A example.test"])
      const exit = yield* Fiber.await(lookup)
      assert.isTrue(Exit.isInterrupted(exit), "its caller is interrupted with it")
    }))

  it.effect("after its scope closed, lookups go to the resolver uncached", () =>
    Effect.gen(function*() {
      const inner = makeResolver({ 4: { answer: ["192.0.2.1"] } })
      const cache = yield* Effect.scoped(Resolver.makeCached(inner.service))
      assert.deepStrictEqual(yield* cache.resolve("example.test", 4), ["192.0.2.1"])
      assert.deepStrictEqual(yield* cache.resolve("example.test", 4), ["192.0.2.1"])
      assert.strictEqual(inner.queries().length, 2)
    }))

  it.scoped("is a layer over the Resolver in context", () =>
    Effect.gen(function*() {
      const inner = makeResolver({ 4: { answer: ["192.0.2.1"] } })
      const layer = Resolver.cached().pipe(Layer.provide(Layer.succeed(Resolver.Resolver, inner.service)))
      const twice = Effect.zipRight(Resolver.resolve("example.test", 4), Resolver.resolve("example.test", 4))
      assert.deepStrictEqual(yield* Effect.provide(twice, layer), ["192.0.2.1"])
      assert.strictEqual(inner.queries().length, 1)
    }))
})
