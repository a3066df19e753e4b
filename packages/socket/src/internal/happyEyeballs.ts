/**
 * The body of `HappyEyeballsConnector`: RFC 8305 as one scoped loop, after Trio's
 * `open_tcp_stream`. The race owns a scope; the AAAA and A queries, the loop and every attempt
 * are fibers in it, so ending the race (a winner, all failed, or interruption) interrupts all of
 * them. Each attempt opens its connection in a scope of its own, forked from the caller's; the
 * attempt closes that scope when it ends unless it won, which hands the connection over.
 */
import * as Cause from "effect/Cause"
import type * as Context from "effect/Context"
import * as Deferred from "effect/Deferred"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as FiberSet from "effect/FiberSet"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import type { Connection } from "../Connection.js"
import type { Connector } from "../Connector.js"
import type { Resolver } from "../Resolver.js"
import { ConnectError, type DnsError } from "../SocketError.js"
import * as SocketUri from "../SocketUri.js"
import { failOnInterrupt } from "./interrupt.js"
import * as ResolvedUri from "./resolvedUri.js"

type Family = 4 | 6

export interface Timing {
  readonly resolutionDelay: Duration.Duration
  readonly connectionAttemptDelay: Duration.Duration
}

/**
 * The last failure of each family, for the all-failed error; its message is ReactPHP's
 * (`HappyEyeBallsConnectionBuilder::error()`), its cause every failure in order.
 */
const makeFailures = (uri: string) => {
  const last: { [F in Family]?: string } = {}
  const all: Array<ConnectError | DnsError> = []
  let lastFamily: Family = 4
  return {
    record: (family: Family, error: ConnectError | DnsError) => {
      last[family] = error._tag === "ConnectError" ? ResolvedUri.messageWithoutHostname(error) : error.message
      all.push(error)
      lastFamily = family
    },
    toError: (anyAddress: boolean): ConnectError => {
      const previousFamily = lastFamily === 6 ? 4 : 6
      const latest = last[lastFamily]
      const previous = last[previousFamily]
      const summary = previous === undefined || previous === latest
        ? latest
        : `Last error for IPv${lastFamily}: ${latest}. Previous error for IPv${previousFamily}: ${previous}`
      return new ConnectError({
        reason: "Failed",
        uri,
        code: all[all.length - 1]?.code ?? "ENODATA",
        stage: anyAddress ? "connect" : "DNS lookup",
        detail: summary ?? "No addresses",
        cause: all
      })
    }
  }
}

type Failures = ReturnType<typeof makeFailures>

/** A query's addresses; a failed query gives none (its error went to the failures). */
interface Answer {
  readonly family: Family
  readonly addresses: ReadonlyArray<string>
}

/**
 * Sends the AAAA and A queries at once (RFC 8305 §3) and hands out their addresses one at a time
 * with `next`, alternating the families, IPv6 first (§4, a First Address Family Count of 1).
 * `next` waits while no address is ready and a query is pending, and gives `None` once both
 * queries have answered and every address was handed out. Answers arriving while attempts run
 * wait in the queue and are merged on the next call.
 */
const sendQueries = (resolver: Context.Tag.Service<Resolver>, host: string, timing: Timing, failures: Failures) =>
  Effect.gen(function*() {
    const answers = yield* Queue.bounded<Answer>(2)
    // A failure counts for the all-failed error when it arrives, not when it is merged.
    const query = (family: Family) =>
      resolver.resolve(host, family).pipe(
        Effect.catchAll((error) => Effect.as(Effect.sync(() => failures.record(family, error)), [])),
        Effect.flatMap((addresses) => Queue.offer(answers, { family, addresses })),
        Effect.forkScoped
      )
    yield* query(6)
    yield* query(4)

    const unused: Record<Family, Array<string>> = { 4: [], 6: [] }
    const answered = new Set<Family>()
    let lastFamily: Family = 4
    let received = 0

    const receive = ({ addresses, family }: Answer) => {
      answered.add(family)
      unused[family].push(...addresses)
      received += addresses.length
    }

    const takeInterleaved = (): string | undefined => {
      const other: Family = lastFamily === 6 ? 4 : 6
      const family = unused[other].length > 0 ? other : lastFamily
      lastFamily = family
      return unused[family].shift()
    }

    // RFC 8305 §3 Resolution Delay: IPv4 addresses that come first wait a little for the AAAA answer.
    let resolutionDelayOver = false
    const next: Effect.Effect<Option.Option<string>> = Effect.gen(function*() {
      while (true) {
        for (const answer of yield* Queue.takeAll(answers)) receive(answer)
        if (!resolutionDelayOver && unused[4].length > 0 && !answered.has(6)) {
          resolutionDelayOver = true
          const aaaa = yield* Effect.timeoutOption(Queue.take(answers), timing.resolutionDelay)
          if (Option.isSome(aaaa)) receive(aaaa.value)
        }
        const address = takeInterleaved()
        if (address !== undefined) return Option.some(address)
        if (answered.size === 2) return Option.none()
        receive(yield* Queue.take(answers))
      }
    })
    return { next, anyAddress: () => received > 0 }
  })

/**
 * Connects to `uri`'s host name over IPv6 and IPv4 as RFC 8305 asks. Starts an attempt as soon
 * as an address is ready, and the next one when that attempt fails or after the Connection
 * Attempt Delay (§5); attempts keep racing until one connects, and the first to connect wins.
 */
export const connect = (
  connector: Context.Tag.Service<Connector>,
  resolver: Context.Tag.Service<Resolver>,
  uri: SocketUri.SocketUri,
  timing: Timing
): Effect.Effect<Connection, ConnectError, Scope.Scope> =>
  Effect.gen(function*() {
    const original = SocketUri.format(uri)
    const callerScope = yield* Effect.scope
    let attempts = 0

    const race = Effect.scoped(Effect.gen(function*() {
      const failures = makeFailures(original)
      const addresses = yield* sendQueries(resolver, uri.host, timing, failures)
      const outcome = yield* Deferred.make<Connection, ConnectError>()
      const attemptFibers = yield* FiberSet.make()
      let winner: Scope.CloseableScope | undefined

      const claim = (scope: Scope.CloseableScope, connection: Connection) =>
        Effect.suspend(() => {
          if (winner !== undefined) return Effect.void
          winner = scope
          return Deferred.succeed(outcome, connection)
        })

      const attempt = (address: string, failed: Deferred.Deferred<void>) =>
        Effect.acquireUseRelease(
          Scope.fork(callerScope, ExecutionStrategy.sequential),
          (scope) =>
            connector.connect(ResolvedUri.withAddress(uri, address)).pipe(
              Scope.extend(scope),
              Effect.matchEffect({
                onSuccess: (connection) => claim(scope, connection),
                onFailure: (error) => {
                  failures.record(SocketUri.ipFamily(address) === 6 ? 6 : 4, error)
                  return Deferred.succeed(failed, undefined)
                }
              })
            ),
          // A loser is closed here, once, whether it failed, was interrupted or connected too late.
          (scope, exit) => (scope === winner ? Effect.void : Scope.close(scope, exit))
        ).pipe(
          // A defect in the inner connector ends the race with it rather than vanishing.
          Effect.tapErrorCause((cause) => (Cause.isInterruptedOnly(cause) ? Effect.void : Deferred.failCause(outcome, cause)))
        )

      const attemptLoop = Effect.gen(function*() {
        let address: Option.Option<string>
        while (Option.isSome(address = yield* addresses.next)) {
          const failed = yield* Deferred.make<void>()
          attempts += 1
          yield* FiberSet.run(attemptFibers, attempt(address.value, failed))
          // RFC 8305 §5: the next attempt starts when this one fails or after the Connection
          // Attempt Delay, while this one keeps racing.
          yield* Effect.timeoutOption(Deferred.await(failed), timing.connectionAttemptDelay)
        }
        yield* FiberSet.awaitEmpty(attemptFibers)
        yield* Deferred.fail(outcome, failures.toError(addresses.anyAddress()))
      })

      yield* Effect.forkScoped(attemptLoop)
      return yield* Deferred.await(outcome)
    }))

    return yield* failOnInterrupt(race, () => ResolvedUri.cancelled(original, attempts === 0 ? "DNS lookup" : "connect"))
  })
