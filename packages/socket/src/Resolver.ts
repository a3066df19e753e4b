/**
 * The `Resolver` service turns a host name into IP addresses of one family, as ReactPHP's
 * `React\Dns\Resolver\ResolverInterface::resolveAll()`. A test double is
 * `Layer.succeed(Resolver, Resolver.of({ resolve }))`.
 *
 * {@link cached} decorates any resolver with a cache that honours the answers' TTLs.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type * as Scope from "effect/Scope"
import * as internal from "./internal/resolverCache.js"
import type { DnsError } from "./SocketError.js"

/**
 * One address record of an answer and how long it may be cached (the record's TTL, RFC 1035
 * §3.2.1, in whole seconds on the wire).
 *
 * @since 0.1.0
 * @category models
 */
export interface Answer {
  readonly address: string
  readonly ttl: Duration.Duration
}

/**
 * @since 0.1.0
 * @category tags
 */
export class Resolver extends Context.Tag("@effect-socket/Resolver")<Resolver, {
  /**
   * The addresses of `host` for `family` (4: A records, 6: AAAA records), never empty on
   * success; fails with a {@link DnsError}. Interrupting it cancels the query.
   */
  readonly resolve: (host: string, family: 4 | 6) => Effect.Effect<ReadonlyArray<string>, DnsError>
  /**
   * As `resolve`, with each address's TTL. Optional: a resolver that does not know TTLs leaves
   * it out, and {@link cached} then keeps its answers for `defaultTtl`.
   */
  readonly resolveWithTtl?: (host: string, family: 4 | 6) => Effect.Effect<ReadonlyArray<Answer>, DnsError>
}>() {}

/**
 * Resolves `host` with the `Resolver` in context.
 *
 * @since 0.1.0
 * @category accessors
 */
export const resolve = (host: string, family: 4 | 6): Effect.Effect<ReadonlyArray<string>, DnsError, Resolver> =>
  Effect.flatMap(Resolver, (resolver) => resolver.resolve(host, family))

/**
 * Options of {@link cached}.
 *
 * @since 0.1.0
 * @category models
 */
export interface CacheOptions {
  /** How many answers (one per name and family) are kept; the least recently used goes first. Default 256. */
  readonly capacity?: number
  /**
   * The longest an answer is kept, whatever its TTL says. Default 5 minutes. An answer is kept
   * for its smallest record TTL up to this; a TTL of 0 is not cached.
   */
  readonly maxTtl?: Duration.DurationInput
  /**
   * How long a failed lookup (NXDOMAIN, SERVFAIL, timeout, …) is remembered, so that a burst
   * of connects to a dead name sends one query. Default 1 second; 0 keeps no failure.
   */
  readonly failureTtl?: Duration.DurationInput
  /** How long the answers of a resolver without `resolveWithTtl` are kept. Default 60 seconds. */
  readonly defaultTtl?: Duration.DurationInput
}

/**
 * Wraps a resolver in a cache. Answers are kept for their TTL, capped at `maxTtl`, in at most
 * `capacity` entries; failures for `failureTtl` only. Lookups of one name and family that
 * overlap share a single query: the query is interrupted (and so cancelled) only when every
 * caller waiting for it was interrupted. Time is read from Effect's `Clock`. Names are compared
 * case-insensitively. The cache lives as long as the `Scope`: closing it interrupts every query
 * in flight (and so their callers), and later lookups go to `resolver` uncached.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeCached: (
  resolver: Context.Tag.Service<Resolver>,
  options?: CacheOptions
) => Effect.Effect<Context.Tag.Service<Resolver>, never, Scope.Scope> = internal.make

/**
 * A layer that caches the `Resolver` it is given (see {@link makeCached}):
 * `Resolver.cached().pipe(Layer.provide(NodeResolver.layer()))`.
 *
 * @since 0.1.0
 * @category layers
 */
export const cached = (options?: CacheOptions): Layer.Layer<Resolver, never, Resolver> =>
  Layer.scoped(Resolver, Effect.flatMap(Resolver, (resolver) => internal.make(resolver, options)))

/**
 * The answers of `resolver` with their TTLs: `resolveWithTtl` where the resolver has it, else
 * `resolve` with every address given `ttl`.
 *
 * @since 0.1.0
 * @category accessors
 */
export const resolveWithTtl: (
  resolver: Context.Tag.Service<Resolver>,
  host: string,
  family: 4 | 6,
  ttl: Duration.DurationInput
) => Effect.Effect<ReadonlyArray<Answer>, DnsError> = internal.resolveWithTtl
