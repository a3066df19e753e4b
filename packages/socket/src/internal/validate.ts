/**
 * Checks of numeric options, shared by every package so that a bad value reads the same
 * everywhere: `backlog must be a positive integer, got -1`. Each check returns the problem as a
 * sentence (or `undefined` when the value is fine); the caller turns it into its own error.
 *
 * @internal
 */
import * as Cause from "effect/Cause"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"

/** A value as a message shows it: strings quoted, anything else as `String` writes it. */
const show = (value: unknown): string => (typeof value === "string" ? JSON.stringify(value) : String(value))

/**
 * Why `value` is not an integer from `min` to `max` (both included), or `undefined` when it is
 * one. `NaN`, `Infinity` and fractions are never integers.
 */
export const integerProblem = (
  name: string,
  value: unknown,
  min: number,
  max: number = Number.MAX_SAFE_INTEGER
): string | undefined => {
  if (typeof value === "number" && Number.isInteger(value) && value >= min && value <= max) return undefined
  const wanted = max !== Number.MAX_SAFE_INTEGER
    ? `an integer from ${min} to ${max}`
    : min === 1
    ? "a positive integer"
    : `an integer of ${min} or more`
  return `${name} must be ${wanted}, got ${show(value)}`
}

/** {@link integerProblem} for an optional value: `undefined` (the default) is fine. */
export const optionalIntegerProblem = (name: string, value: unknown, min: number, max?: number): string | undefined =>
  value === undefined ? undefined : integerProblem(name, value, min, max)

/** The first problem found, if any. */
export const firstProblem = (...problems: ReadonlyArray<string | undefined>): string | undefined =>
  problems.find((problem) => problem !== undefined)

/** Whether a duration input holds a negative or `NaN` amount, which `Duration.decode` would take as zero. */
const negativeOrNaN = (input: Duration.DurationInput): boolean => {
  if (typeof input === "number") return Number.isNaN(input) || input < 0
  if (typeof input === "bigint") return input < 0n
  if (typeof input === "string") return /^\s*-/.test(input)
  if (Array.isArray(input)) return input.some((n) => Number.isNaN(n) || n < 0)
  return false
}

/**
 * `input` decoded, or why it is not a duration of zero or more: a negative or `NaN` amount
 * (which `Duration.decode` silently takes as zero) or a string it cannot parse (on which it
 * throws). `Infinity` is a duration (no limit).
 */
export const decodeDuration = (name: string, input: Duration.DurationInput): Either.Either<Duration.Duration, string> => {
  const problem = `${name} must be a duration of 0 or more, got ${show(input)}`
  if (negativeOrNaN(input)) return Either.left(problem)
  return Either.fromOption(Duration.decodeUnknown(input), () => problem)
}

/**
 * For functions without an error channel, where a bad option is a programming error: throws an
 * `IllegalArgumentException` with `problem` as its message (inside `Effect.sync` or a layer
 * build, the effect dies with it).
 */
export const assertValid = (problem: string | undefined): void => {
  if (problem !== undefined) throw new Cause.IllegalArgumentException(problem)
}

/**
 * {@link assertValid} as an effect: dies with an `IllegalArgumentException` when there is a
 * `problem`, its message prefixed with the function's name: `Server.serve: concurrency must be …`.
 */
export const dieIfInvalid = (problem: string | undefined, where: string): Effect.Effect<void> =>
  problem === undefined ? Effect.void : Effect.die(new Cause.IllegalArgumentException(`${where}: ${problem}`))
