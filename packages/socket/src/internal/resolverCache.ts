/**
 * The body of `Resolver.makeCached`: a map from (family, name) to either the query in flight,
 * shared by every caller that asks meanwhile, or its settled answer with an expiry time.
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import type * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberSet from "effect/FiberSet"
import type * as Scope from "effect/Scope"
import type { Answer, CacheOptions, Resolver } from "../Resolver.js"
import type { DnsError } from "../SocketError.js"

type Service = Context.Tag.Service<Resolver>

/** A query in flight; `waiters` counts the callers awaiting it, the one that started it included. */
interface Pending {
  readonly _tag: "Pending"
  readonly answer: Deferred.Deferred<ReadonlyArray<Answer>, DnsError>
  waiters: number
  query: Fiber.RuntimeFiber<void> | undefined
  settled: boolean
}

/** A settled lookup, served until `expiresAt` (Clock milliseconds). */
interface Settled {
  readonly _tag: "Settled"
  readonly exit: Exit.Exit<ReadonlyArray<Answer>, DnsError>
  readonly expiresAt: number
}

type Entry = Pending | Settled

export const resolveWithTtl = (
  resolver: Service,
  host: string,
  family: 4 | 6,
  ttl: Duration.DurationInput
): Effect.Effect<ReadonlyArray<Answer>, DnsError> =>
  resolver.resolveWithTtl !== undefined
    ? resolver.resolveWithTtl(host, family)
    : Effect.map(resolver.resolve(host, family), (addresses) => addresses.map((address) => ({ address, ttl: Duration.decode(ttl) })))

export const make = (resolver: Service, options: CacheOptions = {}): Effect.Effect<Service, never, Scope.Scope> =>
  Effect.gen(function*() {
    const capacity = Math.max(1, options.capacity ?? 256)
    const maxTtl = Duration.toMillis(options.maxTtl ?? Duration.minutes(5))
    const failureTtl = Math.min(maxTtl, Duration.toMillis(options.failureTtl ?? Duration.seconds(1)))
    const defaultTtl = options.defaultTtl ?? Duration.seconds(60)
    const entries = new Map<string, Entry>()
    const queries = yield* FiberSet.make<void>()
    let open = true
    yield* Effect.addFinalizer(() => Effect.sync(() => (open = false)))

    // Map keeps insertion order: re-inserting on use makes the first key the least recently used.
    const store = (key: string, entry: Entry) => {
      entries.delete(key)
      while (entries.size >= capacity) entries.delete(entries.keys().next().value!)
      entries.set(key, entry)
    }

    const keepFor = (exit: Exit.Exit<ReadonlyArray<Answer>, DnsError>): number =>
      Exit.match(exit, {
        onFailure: (cause) => (Cause.isFailure(cause) ? failureTtl : 0),
        onSuccess: (answers) =>
          answers.length === 0 ? 0 : Math.min(maxTtl, ...answers.map((answer) => Duration.toMillis(answer.ttl)))
      })

    const settle = (key: string, pending: Pending, exit: Exit.Exit<ReadonlyArray<Answer>, DnsError>) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const ttl = keepFor(exit)
        pending.settled = true
        if (entries.get(key) === pending) {
          if (ttl > 0) store(key, { _tag: "Settled", exit, expiresAt: now + ttl })
          else entries.delete(key)
        }
        return Deferred.done(pending.answer, exit)
      })

    const start = (key: string, host: string, family: 4 | 6) =>
      Effect.gen(function*() {
        const pending: Pending = { _tag: "Pending", answer: yield* Deferred.make<ReadonlyArray<Answer>, DnsError>(), waiters: 1, query: undefined, settled: false }
        store(key, pending)
        // Forked from an uninterruptible region: the query itself must stay interruptible. Its
        // callers learn of every end, interruption by the closing cache included.
        const query = resolveWithTtl(resolver, host, family, defaultTtl).pipe(
          Effect.interruptible,
          Effect.onExit((exit) => settle(key, pending, exit)),
          Effect.ignore
        )
        pending.query = yield* FiberSet.run(queries, query)
        return pending
      })

    // The last caller to give up on a query that has not answered interrupts it, which cancels it.
    const leave = (key: string, pending: Pending) =>
      Effect.suspend(() => {
        pending.waiters -= 1
        if (pending.waiters > 0 || pending.query === undefined || pending.settled) {
          return Effect.void
        }
        if (entries.get(key) === pending) entries.delete(key)
        return Fiber.interrupt(pending.query)
      })

    const fromCache = (entry: Settled, now: number) =>
      Effect.map(entry.exit, (answers) => answers.map((answer) => ({ ...answer, ttl: Duration.millis(entry.expiresAt - now) })))

    const resolveCached = (host: string, family: 4 | 6): Effect.Effect<ReadonlyArray<Answer>, DnsError> =>
      !open ? resolveWithTtl(resolver, host, family, defaultTtl) : Effect.uninterruptibleMask((restore) =>
        Effect.gen(function*() {
          const key = `${family} ${host.toLowerCase()}`
          const now = yield* Clock.currentTimeMillis
          const entry = entries.get(key)
          if (entry?._tag === "Settled" && entry.expiresAt > now) {
            store(key, entry)
            return yield* fromCache(entry, now)
          }
          let pending: Pending
          if (entry?._tag === "Pending") {
            pending = entry
            pending.waiters += 1
          } else {
            pending = yield* start(key, host, family)
          }
          return yield* Effect.ensuring(restore(Deferred.await(pending.answer)), leave(key, pending))
        })
      )

    return {
      resolve: (host, family) => Effect.map(resolveCached(host, family), (answers) => answers.map((answer) => answer.address)),
      resolveWithTtl: resolveCached
    }
  })
