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
  /**
   * Calls `callback` once, as soon as `ready()` is true (at once if it already is), without a
   * fiber; returns what unregisters it.
   */
  readonly when: (ready: () => boolean, callback: () => void) => () => void
}

const unregistered = () => {}

/** @internal */
export const make = (): Waiters => {
  const waiting = new Set<() => void>()
  const when = (ready: () => boolean, callback: () => void) => {
    if (ready()) {
      callback()
      return unregistered
    }
    const check = () => {
      if (!ready()) return
      waiting.delete(check)
      callback()
    }
    waiting.add(check)
    return () => {
      waiting.delete(check)
    }
  }
  return {
    notify: () => {
      for (const check of Array.from(waiting)) check()
    },
    until: (ready) =>
      Effect.async<void>((resume) => {
        if (ready()) return resume(Effect.void)
        return Effect.sync(when(ready, () => resume(Effect.void)))
      }),
    when
  }
}
