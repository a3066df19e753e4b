/**
 * A protocol between connections and what tracks them (`LimitingServer`), internal to
 * effect-socket: a connection that can call back when it closes offers that under
 * {@link OnClose}, so that tracking it costs a callback instead of a fiber parked on `closed`
 * per connection (a fiber, its `Effect.async` and a scope entry: ~1.5 KB and a few µs each).
 * Connections without it (decorators, test doubles) are watched through `closed` as before.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { Connection } from "../Connection.js"

/**
 * The key of a connection's close registration: `connection[OnClose](callback)` calls
 * `callback(connection)` once, when `closed` would complete (at once if it already has), and
 * returns `true`; or returns `false` and never calls it, when it cannot take one more callback
 * (node connections keep one), and the caller then watches `closed` instead.
 *
 * @internal
 */
export const OnClose: unique symbol = Symbol.for("@effect-socket/socket/Connection/OnClose")

/** @internal */
export type Callback = (connection: Connection) => void

/** @internal */
export interface HasOnClose {
  readonly [OnClose]: (callback: Callback) => boolean
}

/**
 * Calls `callback(connection)` once when `connection` is closed: through its {@link OnClose}
 * when it offers one that takes the callback, else from a fiber forked in `scope` that waits
 * for `closed` (and then also calls it if `scope` closes first).
 *
 * @internal
 */
export const onClosed = (connection: Connection, callback: Callback, scope: Scope.Scope): Effect.Effect<void> =>
  Effect.suspend(() =>
    OnClose in connection && (connection as Connection & HasOnClose)[OnClose](callback)
      ? Effect.void
      // Interruptible even when forked from an uninterruptible region: closing `scope` ends it.
      : Effect.asVoid(
        Effect.forkIn(Effect.ensuring(Effect.interruptible(connection.closed), Effect.sync(() => callback(connection))), scope)
      )
  )
