/**
 * Fibers waiting for a condition on shared mutable state. The state lives in plain fields
 * (JavaScript runs one fiber step at a time), every change calls `notify`, and `until` checks
 * the condition when it registers and again on each `notify`, so no wake-up can be lost
 * between a check and a wait. Interrupting a waiter unregisters it.
 *
 * @internal
 */
import * as Effect from "effect/Effect"

/** @internal */
export interface Waiters {
  /** Re-checks every waiter's condition; those now true resume. */
  readonly notify: () => void
  /** Completes as soon as `ready()` is true (at once if it already is). */
  readonly until: (ready: () => boolean) => Effect.Effect<void>
}

/** @internal */
export const make = (): Waiters => {
  const waiting = new Set<() => void>()
  return {
    notify: () => {
      for (const check of Array.from(waiting)) check()
    },
    until: (ready) =>
      Effect.async<void>((resume) => {
        if (ready()) return resume(Effect.void)
        const check = () => {
          if (!ready()) return
          waiting.delete(check)
          resume(Effect.void)
        }
        waiting.add(check)
        return Effect.sync(() => {
          waiting.delete(check)
        })
      })
  }
}
