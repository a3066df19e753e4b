/**
 * The demo: every check on loopback, one line each, then a summary. Fails (non-zero exit) when
 * any check fails.
 */
import * as Console from "effect/Console"
import * as Effect from "effect/Effect"
import type { Check, Row } from "./Check.js"
import { runCheck } from "./Check.js"
import { dnsChecks } from "./dnsChecks.js"
import { limitChecks } from "./limitChecks.js"
import { tcpChecks } from "./tcpChecks.js"
import { tlsChecks } from "./tlsChecks.js"
import { unixChecks } from "./unixChecks.js"

export const checks: ReadonlyArray<Check> = [...tcpChecks, ...unixChecks, ...tlsChecks, ...dnsChecks, ...limitChecks]

const pad = (text: string, width: number) => text.padEnd(width)

const table = (rows: ReadonlyArray<Row>) => {
  const nameWidth = Math.max(5, ...rows.map((r) => r.name.length))
  const resultWidth = Math.max(6, ...rows.map((r) => r.result.length))
  const header = `  ${pad("check", nameWidth)}  ${pad("result", resultWidth)}  ${pad("speed", 12)}  elapsed`
  const lines = rows.map((r) =>
    `${r.ok ? "✔" : "✘"} ${pad(r.name, nameWidth)}  ${pad(r.result, resultWidth)}  ${pad(r.speed, 12)}  ${r.elapsedMs.toFixed(0)} ms`
  )
  return [header, ...lines].join("\n")
}

export class DemoFailed extends Error {
  constructor(readonly failed: number) {
    super(`${failed} demo check(s) failed`)
  }
}

/** Runs `checks` one after the other, printing a line each and then the table. */
export const runChecks = (checks: ReadonlyArray<Check>): Effect.Effect<ReadonlyArray<Row>, DemoFailed> => Effect.gen(function*() {
  yield* Console.log("effect-socket demo: servers and clients on loopback\n")
  const rows: Array<Row> = []
  for (const check of checks) {
    const row = yield* runCheck(check)
    rows.push(row)
    yield* Console.log(`${row.ok ? "✔" : "✘"} ${row.name}: ${row.result}`)
  }
  const failed = rows.filter((r) => !r.ok).length
  yield* Console.log(`\n${table(rows)}\n\n${rows.length - failed} of ${rows.length} checks passed`)
  if (failed > 0) return yield* Effect.fail(new DemoFailed(failed))
  return rows
})

/** The demo: every check. */
export const run: Effect.Effect<ReadonlyArray<Row>, DemoFailed> = runChecks(checks)
