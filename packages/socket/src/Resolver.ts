/**
 * The `Resolver` service turns a host name into IP addresses of one family, as ReactPHP's
 * `React\Dns\Resolver\ResolverInterface::resolveAll()`. A test double is
 * `Layer.succeed(Resolver, Resolver.of({ resolve }))`.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import type * as Effect from "effect/Effect"
import type { DnsError } from "./SocketError.js"

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
}>() {}
