/**
 * A `Connector` decorator that gives up on connection attempts that take too long, as
 * ReactPHP's `TimeoutConnector`. The timer runs on Effect's `Clock`, so `TestClock` drives it.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as DefaultServices from "effect/DefaultServices"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Fiber from "effect/Fiber"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import { Connector } from "./Connector.js"
import { handOver } from "./internal/scope.js"
import { invalidOption } from "./internal/options.js"
import { ConnectError } from "./SocketError.js"

/**
 * Wraps a connector so that each `connect` fails with a {@link ConnectError} of reason
 * `Timeout` (`ETIMEDOUT`) once `duration` has passed without a connection, e.g.
 * `Connection to tcp://10.0.0.1:80 timed out after 3.0 seconds (ETIMEDOUT)` (the URI as given).
 * On timeout the inner attempt is interrupted and everything it opened (sockets, timers, DNS
 * queries) is released before the error is returned; the same holds when the caller interrupts
 * `connect`. An inner success or failure before the deadline is passed through unchanged and
 * cancels the timer. `Duration.infinity` never times out. A duration that is not positive (zero,
 * which would give up at once and which elsewhere often means "no limit", a negative or `NaN`
 * amount, a string that is no duration) makes every `connect` fail with `EINVAL` without calling
 * the inner connector: `Connection to tcp://10.0.0.1:80 failed: Invalid option timeout: -1,
 * expected a positive duration (milliseconds, or a Duration such as "5 seconds") (EINVAL)`.
 *
 * @since 0.1.0
 * @category combinators
 */
export const withTimeout: {
  (duration: Duration.DurationInput): (connector: Context.Tag.Service<Connector>) => Context.Tag.Service<Connector>
  (connector: Context.Tag.Service<Connector>, duration: Duration.DurationInput): Context.Tag.Service<Connector>
} = dual(2, (connector: Context.Tag.Service<Connector>, duration: Duration.DurationInput): Context.Tag.Service<Connector> =>
{
  const invalid = invalidOption({ timeout: duration }, { timeout: "duration" })
  if (invalid !== undefined) {
    return Connector.of({ connect: (uri) => Effect.fail(new ConnectError({ reason: "Failed", uri, code: "EINVAL", detail: invalid })) })
  }
  const timeout = Duration.decode(duration)
  return Connector.of({
    connect: (uri) =>
      handOver(timeoutFail(connector.connect(uri), timeout, () => new ConnectError({ reason: "Timeout", uri, code: "ETIMEDOUT", timeout })))
  })
})

/** The Clock of every fiber, unless a program or a test (`TestClock`) provides another. */
const liveClock = Context.get(DefaultServices.liveServices, Clock.Clock)

/** `setTimeout`'s limit: the live Clock treats longer sleeps as never ending. */
const MAX_TIMER_MILLIS = 2 ** 31 - 1

/**
 * `Effect.timeoutFail`, cheaper on the live Clock. `Effect.timeoutFail` races two forked fibers
 * (the attempt and a sleep on the Clock) and joins the winner's FiberRefs: about 100 µs of CPU
 * per connect with 50 connects in flight (measured), more than the connect itself. On the live
 * Clock, whose `sleep` is a `setTimeout`, this forks only the attempt and sets the timer itself;
 * the outcome is the same: the attempt's exit (its FiberRefs inherited on success), or
 * `onTimeout()` once the attempt, interrupted at the deadline, has finished. Under any other
 * Clock (`TestClock`) it is `Effect.timeoutFail`, so that the Clock keeps control of time.
 */
const timeoutFail = <A, E, E2, R>(
  attempt: Effect.Effect<A, E, R>,
  timeout: Duration.Duration,
  onTimeout: () => E2
): Effect.Effect<A, E | E2, R> =>
  Effect.clockWith((clock) => {
    if (clock !== liveClock) return Effect.timeoutFail(attempt, { duration: timeout, onTimeout })
    const millis = Duration.toMillis(timeout)
    return Effect.uninterruptibleMask((restore) =>
      Effect.flatMap(Effect.fork(restore(attempt)), (fiber) =>
        Effect.flatMap(
          restore(Effect.fiberIdWith((parent) =>
            // The attempt's exit, or `undefined` when the deadline came first.
            Effect.async<Exit.Exit<A, E> | undefined>((resume) => {
              let timedOut = false
              const timer = millis > MAX_TIMER_MILLIS ? undefined : setTimeout(() => {
                timedOut = true
                fiber.unsafeInterruptAsFork(parent)
              }, millis)
              fiber.addObserver((exit) => {
                clearTimeout(timer)
                resume(Effect.succeed(timedOut ? undefined : exit))
              })
              // The caller was interrupted: so is the attempt, and its release is awaited.
              return Effect.suspend(() => {
                clearTimeout(timer)
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
        )))
  })

/**
 * A layer that decorates the `Connector` it requires with {@link withTimeout}:
 * `TimeoutConnector.layer("3 seconds").pipe(Layer.provide(TcpConnector.layer))`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (duration: Duration.DurationInput): Layer.Layer<Connector, never, Connector> =>
  Layer.effect(Connector, Effect.map(Connector, withTimeout(duration)))
