/**
 * How the command reports a failure: the typed error's message on stderr, one line per error,
 * and the full cause (stack traces included) only with `--verbose`.
 */
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as ValidationError from "@effect/cli/ValidationError"
import * as Cause from "effect/Cause"
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error))

/** The lines to print for `cause`: each failure's message, each defect's marked as unexpected. */
export const render = (cause: Cause.Cause<unknown>): string =>
  [
    ...Array.from(Cause.failures(cause), messageOf),
    ...Array.from(Cause.defects(cause), (defect) => `Unexpected error: ${messageOf(defect)} (run with --verbose for details)`)
  ].join("\n")

/**
 * Prints the failure of `self` to stderr (nothing for an interruption, e.g. Ctrl-C) and fails
 * with it, so that the process exits non-zero.
 */
export const reportFailure = (verbose: boolean) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.tapErrorCause(
    self,
    (cause) => Cause.isInterruptedOnly(cause) ? Effect.void : Console.error(verbose ? Cause.pretty(cause) : render(cause))
  )

/** Prints a line to stderr: status and diagnostics, never data. */
export const info = (line: string): Effect.Effect<void> => Console.error(line)

/** A usage error (exit code 2) saying what is wrong with the command line, for a check of one option's value. */
export const invalidValue = (text: string): ValidationError.ValidationError => ValidationError.invalidValue(HelpDoc.p(text))

/**
 * A usage error found by a check that involves several arguments: printed as `@effect/cli`
 * prints its own (the process then exits with code 2).
 */
export const usageError = (text: string): Effect.Effect<never, ValidationError.ValidationError> => {
  const error = invalidValue(text)
  return Effect.zipRight(Console.error(HelpDoc.toAnsiText(error.error)), Effect.fail(error))
}
