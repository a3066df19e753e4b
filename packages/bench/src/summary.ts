/**
 * `node packages/bench/dist/summary.js bench-results/bench-….json`: one Markdown table of a
 * run's medians and ratios to node:net (the table in docs/performance.md is made this way).
 */
import * as fs from "node:fs"
import type { Impl } from "./protocol.js"

interface Row {
  readonly impl: Impl
  readonly medians: Record<string, number>
  readonly ratios: Record<string, number | undefined>
}

interface Results {
  readonly machine: { readonly date: string; readonly node: string; readonly cores: number; readonly cpu: string; readonly platform: string }
  readonly config: { readonly mode: string; readonly rounds: number }
  readonly tables: ReadonlyArray<{ readonly workload: string; readonly variant: string; readonly side: string; readonly rows: ReadonlyArray<Row> }>
}

/** Per workload: the headline metric, its unit and the CPU metric of the side compared. */
const columns: Record<string, { readonly metric: string; readonly unit: string; readonly cpu?: string; readonly cpuUnit?: string }> = {
  bulk: { metric: "mbps", unit: "MB/s", cpu: "CpuMsPerGB", cpuUnit: "CPU ms/GB" },
  pingpong: { metric: "rtps", unit: "round trips/s", cpu: "CpuUsPerTrip", cpuUnit: "CPU µs/trip" },
  connrate: { metric: "cps", unit: "conn/s", cpu: "CpuUsPerConn", cpuUnit: "CPU µs/conn" },
  "tls handshakes": { metric: "cps", unit: "handshakes/s", cpu: "CpuUsPerConn", cpuUnit: "CPU µs/handshake" },
  "tls bulk": { metric: "mbps", unit: "MB/s", cpu: "CpuMsPerGB", cpuUnit: "CPU ms/GB" },
  memory: { metric: "heapPerConn", unit: "heap B/conn" },
  eyeballs: { metric: "connectMs", unit: "ms to connect" }
}

const [file] = process.argv.slice(2)
if (file === undefined) {
  console.log("usage: node packages/bench/dist/summary.js bench-results/bench-….json")
  process.exit(1)
}
const results = JSON.parse(fs.readFileSync(file, "utf8")) as Results
const number = (n: number | undefined) =>
  n === undefined || !Number.isFinite(n) ? "–" : n >= 100 ? Math.round(n).toLocaleString("en-US") : n.toFixed(1)
const ratio = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? "–" : `${n.toFixed(2)}×`)

console.log(`${results.machine.date}, ${results.machine.cores} cores (${results.machine.cpu}), ${results.machine.platform}, Node ${results.machine.node}, ${results.config.mode} run, medians of ${results.config.rounds} rounds\n`)
console.log("| workload | compared | unit | node:net | @effect/platform-node | effect-socket | CPU of the side compared, effect-socket / node:net (platform) |")
console.log("| --- | --- | --- | ---: | ---: | ---: | ---: |")
for (const table of results.tables) {
  const column = columns[table.workload]
  if (column === undefined) continue
  const row = (impl: Impl) => table.rows.find((r) => r.impl === impl)
  const raw = row("raw")
  const cell = (impl: Impl) => {
    const r = row(impl)
    if (r === undefined) return "n/a"
    return impl === "raw" ? number(r.medians[column.metric]) : `${number(r.medians[column.metric])} (${ratio(r.ratios[column.metric])})`
  }
  const cpuKey = column.cpu === undefined ? undefined : `${table.side === "servers" ? "server" : "client"}${column.cpu}`
  const cpu = cpuKey === undefined || raw === undefined
    ? ""
    : `${number(raw.medians[cpuKey])} → ${ratio(row("effect-socket")?.ratios[cpuKey])} (${ratio(row("platform")?.ratios[cpuKey])}) ${column.cpuUnit}`
  console.log(`| ${table.workload}: ${table.variant} | ${table.side} | ${column.unit} | ${cell("raw")} | ${cell("platform")} | ${cell("effect-socket")} | ${cpu} |`)
}
