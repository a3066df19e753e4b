/**
 * One line of the demo's report: a named check that runs on loopback and says what it saw.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"

export interface Outcome {
  /** One-line result, e.g. `64.0 MiB echoed, sha256 match`. */
  readonly result: string
  /** Throughput or latency, e.g. `812.4 MB/s`; empty when not relevant. */
  readonly speed: string
}

export interface Row extends Outcome {
  readonly name: string
  readonly ok: boolean
  readonly elapsedMs: number
}

export interface Check {
  readonly name: string
  /** Runs in its own scope: whatever it opens is closed when it ends. */
  readonly run: Effect.Effect<Outcome, unknown, Scope.Scope>
}

/** Runs a check, turning any failure into a failed row with the error's message. */
export const runCheck = (check: Check): Effect.Effect<Row> =>
  Effect.gen(function*() {
    const start = performance.now()
    const exit = yield* Effect.exit(Effect.scoped(check.run))
    const elapsedMs = performance.now() - start
    if (exit._tag === "Success") return { name: check.name, ok: true, elapsedMs, ...exit.value }
    const error = exit.cause._tag === "Fail" ? exit.cause.error : undefined
    const result = error instanceof Error ? error.message : String(error ?? exit.cause)
    return { name: check.name, ok: false, elapsedMs, result, speed: "" }
  })
