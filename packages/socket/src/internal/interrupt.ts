/**
 * Interruption as ECONNABORTED. Effect's "cancel" is interruption, which carries no error; to
 * report the stage a connect was cancelled in (ReactPHP's `cancelled during DNS lookup
 * (ECONNABORTED)`), the connectors turn an interruption of their own work into a typed failure.
 * The interrupted fiber's exit then holds that failure next to the interruption, so whoever
 * interrupted it (`Fiber.interrupt`, a supervisor, a test) can read it; inside the interrupted
 * fiber nothing can catch it, as with any interruption.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"

/**
 * Runs `effect` interruptibly; if it ends by interruption alone, fails with `onInterrupt()`
 * instead. Failures and defects pass through unchanged.
 */
export const failOnInterrupt = <A, E, R, E2>(
  effect: Effect.Effect<A, E, R>,
  onInterrupt: () => E2
): Effect.Effect<A, E | E2, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.catchAllCause(
      restore(effect),
      (cause): Effect.Effect<never, E | E2> => Cause.isInterruptedOnly(cause) ? Effect.fail(onInterrupt()) : Effect.failCause(cause)
    )
  )
