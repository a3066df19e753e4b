/**
 * Ownership hand-over for connection attempts.
 *
 * @internal
 */
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Scope from "effect/Scope"

/**
 * Runs `attempt` in a child of the caller's scope. If it fails or is interrupted, the child is
 * closed at once, so whatever the attempt opened is released before the failure is seen; if it
 * succeeds, the child (and the resource) stays open until the caller's scope closes.
 *
 * @internal
 */
export const handOver = <A, E, R>(
  attempt: Effect.Effect<A, E, R>
): Effect.Effect<A, E, Exclude<R, Scope.Scope> | Scope.Scope> =>
  Effect.flatMap(Effect.scope, (parent) =>
    Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(Scope.fork(parent, ExecutionStrategy.sequential), (child) =>
        restore(Scope.extend(attempt, child)).pipe(
          Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Scope.close(child, exit)))
        ))))
