/**
 * Deadlines on Effect's `Clock` without a racing fiber: `Effect.timeoutFail` forks the effect and
 * a sleep and races them, 25–100 µs of CPU per use under load (docs/performance.md), more than a
 * TCP connect. A `Timer` is a callback instead; on the live Clock it is the `setTimeout` its
 * `sleep` would set, on any other (`TestClock`) a fiber sleeping on that Clock, so tests keep
 * control of time.
 *
 * @internal
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import * as FiberId from "effect/FiberId"
import * as FiberRefs from "effect/FiberRefs"
import * as Runtime from "effect/Runtime"

/**
 * Starts a timer: calls `fire` once, unless the returned function stops it first.
 *
 * @internal
 */
export type Timer = (fire: () => void) => () => void

/** The Clock of every fiber unless a program or a test provides another. */
const liveClock = Context.get(DefaultServices.liveServices, Clock.Clock)

/** `setTimeout`'s limit: the live Clock treats longer sleeps as never ending. */
const MAX_TIMER_MILLIS = 2 ** 31 - 1

/**
 * A timer for `timeout` on `clock`; `runtime` (taken only for a clock other than the live one)
 * runs the sleeping fiber. `undefined` when it would never fire.
 */
const makeTimer = (
  clock: Clock.Clock,
  runtime: () => Runtime.Runtime<never>,
  timeout: Duration.Duration | undefined
): Timer | undefined => {
  if (timeout === undefined || !Duration.isFinite(timeout)) return undefined
  if (clock === liveClock) {
    const millis = Duration.toMillis(timeout)
    if (millis > MAX_TIMER_MILLIS) return undefined
    return (fire) => {
      const handle = setTimeout(fire, millis)
      return () => clearTimeout(handle)
    }
  }
  const run = Runtime.runFork(runtime())
  return (fire) => {
    const fiber = run(Effect.zipRight(Effect.sleep(timeout), Effect.sync(fire)))
    return () => fiber.unsafeInterruptAsFork(FiberId.none)
  }
}

/**
 * A timer on the Clock of `runtime` (for callbacks that run outside any fiber).
 *
 * @internal
 */
export const timerIn = (runtime: Runtime.Runtime<never>, timeout: Duration.Duration | undefined): Timer | undefined =>
  makeTimer(Context.get(FiberRefs.getOrDefault(runtime.fiberRefs, DefaultServices.currentServices), Clock.Clock), () => runtime, timeout)

/**
 * A timer on the current fiber's Clock (its runtime is only taken for a test clock).
 *
 * @internal
 */
export const withTimer = <A, E, R>(
  timeout: Duration.Duration | undefined,
  f: (timer: Timer | undefined) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> =>
  timeout === undefined
    ? f(undefined)
    : Effect.clockWith((clock) =>
      clock === liveClock
        ? f(makeTimer(clock, () => Runtime.defaultRuntime, timeout))
        : Effect.flatMap(Effect.runtime<never>(), (runtime) => f(makeTimer(clock, () => runtime, timeout)))
    )

/**
 * `Effect.timeoutFail` on a {@link Timer}: forks only `effect`, interrupts it at the deadline and
 * then fails with `onTimeout()` once it has finished (its release done); otherwise its own exit,
 * with its FiberRefs inherited on success. Interrupting the caller interrupts `effect` and
 * awaits it.
 *
 * @internal
 */
export const timeoutFail = <A, E, E2, R>(
  effect: Effect.Effect<A, E, R>,
  timeout: Duration.Duration,
  onTimeout: () => E2
): Effect.Effect<A, E | E2, R> =>
  withTimer(timeout, (timer) =>
    timer === undefined ? effect : Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(Effect.fork(restore(effect)), (fiber) =>
        Effect.flatMap(
          restore(Effect.fiberIdWith((parent) =>
            // The effect's exit, or `undefined` when the deadline came first.
            Effect.async<Exit.Exit<A, E> | undefined>((resume) => {
              let timedOut = false
              const stop = timer(() => {
                timedOut = true
                fiber.unsafeInterruptAsFork(parent)
              })
              fiber.addObserver((exit) => {
                stop()
                resume(Effect.succeed(timedOut ? undefined : exit))
              })
              return Effect.suspend(() => {
                stop()
                return Fiber.interrupt(fiber)
              })
            })
          )),
          (exit): Effect.Effect<A, E | E2> =>
            exit === undefined
              ? Effect.fail(onTimeout())
              : Exit.isSuccess(exit)
              ? Effect.as(Fiber.inheritAll(fiber), exit.value)
              : exit
        ))
    ))
