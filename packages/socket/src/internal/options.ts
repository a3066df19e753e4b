/**
 * Checks of option values, shared by every package so that a bad value reads the same
 * everywhere: `Invalid option backlog: -1, expected an integer from 1 to 2147483647`. Node throws
 * synchronously on some bad values (a `localAddress` that is not an IP, a `keepAlive` that is not
 * a number) and silently misuses others (a `NaN` `readHighWaterMark` turns read backpressure off;
 * Effect turns a negative or `NaN` duration into zero), so servers and connectors check their
 * options first and fail with `EINVAL` before any socket exists. Functions without an error
 * channel die with an `IllegalArgumentException` instead ({@link dieIfInvalid}).
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { isIP } from "./ip.js"

/** What an option must be. */
export type Rule =
  | "boolean"
  | "count"
  | "positive"
  | "positiveOrUnbounded"
  | "positiveOrNull"
  | "port"
  | "milliseconds"
  | "duration"
  | "ip"
  | "file"

/** The largest `int` of the C APIs under Node's options. */
export const MAX_INT32 = 2 ** 31 - 1

const isIntegerUpTo = (value: unknown, max: number) =>
  typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= max

const isPositive = (value: unknown) => isIntegerUpTo(value, MAX_INT32) && value !== 0

const POSITIVE = `an integer from 1 to ${MAX_INT32}`

const rules: Record<Rule, { readonly holds: (value: unknown) => boolean; readonly expected: string }> = {
  boolean: { holds: (value) => typeof value === "boolean", expected: "true or false" },
  count: { holds: (value) => isIntegerUpTo(value, MAX_INT32), expected: `an integer from 0 to ${MAX_INT32}` },
  positive: { holds: isPositive, expected: POSITIVE },
  positiveOrUnbounded: { holds: (value) => value === "unbounded" || isPositive(value), expected: `"unbounded" or ${POSITIVE}` },
  positiveOrNull: { holds: (value) => value === null || isPositive(value), expected: `null or ${POSITIVE}` },
  port: { holds: (value) => isIntegerUpTo(value, 65535), expected: "an integer from 0 to 65535" },
  milliseconds: {
    holds: (value) => value === false || isIntegerUpTo(value, MAX_INT32),
    expected: `false or an integer number of milliseconds from 0 to ${MAX_INT32}`
  },
  // Effect turns a negative or NaN duration into zero, which would time out everything at once.
  duration: {
    holds: (value) => Option.exists(Duration.decodeUnknown(value), (d) => Duration.greaterThan(d, Duration.zero)),
    expected: "a positive duration (milliseconds, or a Duration such as \"5 seconds\")"
  },
  file: { holds: (value) => value === false || (typeof value === "string" && value.length > 0), expected: "a file path or false" },
  ip: { holds: (value) => typeof value === "string" && isIP(value), expected: "an IPv4 or IPv6 address" }
}

const show = (value: unknown) =>
  typeof value === "string"
    ? JSON.stringify(value)
    : typeof value === "object" && value !== null
    ? Array.isArray(value) ? "an array" : "an object"
    : String(value)

/**
 * The first option in `options` that breaks its rule in `checks`: its name and the error detail
 * (`Invalid option backlog: -1, expected an integer from 1 to 2147483647`); `undefined` when
 * every option given holds. Options left `undefined` take their defaults and are not checked.
 * A module lists a rule for each of its options (`satisfies Record<keyof Options, Rule>`).
 */
export const firstInvalidOption = (
  options: object,
  checks: Readonly<Record<string, Rule>>
): { readonly name: string; readonly detail: string } | undefined => {
  for (const [name, rule] of Object.entries(checks)) {
    const value: unknown = (options as Record<string, unknown>)[name]
    if (value !== undefined && !rules[rule].holds(value)) {
      return { name, detail: `Invalid option ${name}: ${show(value)}, expected ${rules[rule].expected}` }
    }
  }
  return undefined
}

/** The detail of {@link firstInvalidOption}, or `undefined`. */
export const invalidOption = (options: object, checks: Readonly<Record<string, Rule>>): string | undefined =>
  firstInvalidOption(options, checks)?.detail

/**
 * For functions without an error channel, where a bad option is a programming error: throws an
 * `IllegalArgumentException` naming the function (`Connection.makePair: Invalid option …`);
 * inside `Effect.sync` or a layer's construction, the effect dies with it.
 */
export const assertValidOptions = (where: string, options: object, checks: Readonly<Record<string, Rule>>): void => {
  const invalid = invalidOption(options, checks)
  if (invalid !== undefined) throw new Cause.IllegalArgumentException(`${where}: ${invalid}`)
}

/** {@link assertValidOptions} as an effect that dies rather than throws. */
export const dieIfInvalid = (where: string, options: object, checks: Readonly<Record<string, Rule>>): Effect.Effect<void> =>
  Effect.sync(() => assertValidOptions(where, options, checks))
