/**
 * A `Connector` decorator that gives up on connection attempts that take too long, as
 * ReactPHP's `TimeoutConnector`. The timer runs on Effect's `Clock`, so `TestClock` drives it.
 *
 * @since 0.1.0
 */
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import * as Layer from "effect/Layer"
import { Connector } from "./Connector.js"
import { timeoutFail } from "./internal/timer.js"
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

/**
 * A layer that decorates the `Connector` it requires with {@link withTimeout}:
 * `TimeoutConnector.layer("3 seconds").pipe(Layer.provide(TcpConnector.layer))`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (duration: Duration.DurationInput): Layer.Layer<Connector, never, Connector> =>
  Layer.effect(Connector, Effect.map(Connector, withTimeout(duration)))
