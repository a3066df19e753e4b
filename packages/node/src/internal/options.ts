import * as SocketUri from "@effect-socket/socket/SocketUri"
import * as Duration from "effect/Duration"
import * as Option from "effect/Option"

/**
 * What an option must be. Node throws synchronously on some bad values (a `localAddress` that
 * is not an IP, a `keepAlive` that is not a number) and silently misuses others (a `NaN`
 * `readHighWaterMark` turns read backpressure off), so servers and connectors check their
 * options first and fail with `EINVAL` before any socket exists.
 */
export type Rule = "boolean" | "count" | "positive" | "port" | "milliseconds" | "duration" | "ip" | "file"

/** The largest `int` of the C APIs under Node's options. */
export const MAX_INT32 = 2 ** 31 - 1

const isIntegerUpTo = (value: unknown, max: number) =>
  typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= max

const rules: Record<Rule, { readonly holds: (value: unknown) => boolean; readonly expected: string }> = {
  boolean: { holds: (value) => typeof value === "boolean", expected: "true or false" },
  count: { holds: (value) => isIntegerUpTo(value, MAX_INT32), expected: `an integer from 0 to ${MAX_INT32}` },
  positive: { holds: (value) => isIntegerUpTo(value, MAX_INT32) && value !== 0, expected: `an integer from 1 to ${MAX_INT32}` },
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
  ip: { holds: (value) => typeof value === "string" && SocketUri.isIP(value), expected: "an IPv4 or IPv6 address" }
}

const show = (value: unknown) =>
  typeof value === "string"
    ? JSON.stringify(value)
    : typeof value === "object" && value !== null
    ? Array.isArray(value) ? "an array" : "an object"
    : String(value)

/**
 * The first option in `options` that breaks its rule in `checks`, as the error detail
 * (`Invalid option backlog: -1, expected an integer from 0 to 2147483647`); `undefined` when
 * every option given holds. Options left `undefined` take their defaults and are not checked.
 * A module lists a rule for each of its options (`satisfies Record<keyof Options, Rule>`).
 */
export const invalidOption = (options: object, checks: Readonly<Record<string, Rule>>): string | undefined => {
  for (const [name, rule] of Object.entries(checks)) {
    const value: unknown = (options as Record<string, unknown>)[name]
    if (value !== undefined && !rules[rule].holds(value)) return `Invalid option ${name}: ${show(value)}, expected ${rules[rule].expected}`
  }
  return undefined
}
