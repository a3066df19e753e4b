import type { Impl } from "./protocol.js"
import { implLabel, impls } from "./protocol.js"

export interface Metric {
  readonly key: string
  /** Column heading, with its unit. */
  readonly label: string
  readonly better: "higher" | "lower"
}

/** Every sample of one comparison: rows are implementations, one sample per round. */
export interface Table {
  readonly workload: string
  readonly variant: string
  /** "servers": servers compared with the same node:net client; "clients": the reverse. */
  readonly side: "servers" | "clients"
  readonly metrics: ReadonlyArray<Metric>
  readonly samples: Map<Impl, Array<Record<string, number>>>
}

export interface Summary {
  readonly median: number
  /** median / raw's median: above 1 is better for "higher" metrics, below 1 for "lower" ones. */
  readonly ratio: number
}

export const median = (values: ReadonlyArray<number>): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

export const summarize = (table: Table, impl: Impl, metric: Metric): Summary | undefined => {
  const rows = table.samples.get(impl)
  const base = table.samples.get("raw")
  if (rows === undefined || rows.length === 0 || base === undefined) return undefined
  const m = median(rows.map((row) => row[metric.key]!))
  const b = median(base.map((row) => row[metric.key]!))
  return { median: m, ratio: b > 0 ? m / b : Number.NaN }
}

const formatNumber = (n: number) => {
  if (!Number.isFinite(n)) return "-"
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString("en-US")
  if (Math.abs(n) >= 10) return n.toFixed(1)
  return n.toFixed(2)
}

const formatRatio = (r: number) => Number.isFinite(r) ? r.toFixed(2) : "-"

const pad = (s: string, width: number, left = false) => left ? s.padEnd(width) : s.padStart(width)

/** Prints one table: a row per implementation, for each metric its median and its ratio to raw. */
export const printTable = (table: Table): void => {
  const title = table.side === "servers" ? "servers (same node:net client)" : "clients (same node:net server)"
  console.log(`  ${table.variant}: ${title}`)
  const width = (metric: Metric) => Math.max(13, metric.label.length + 2)
  const header = [pad("", 26, true)]
  for (const metric of table.metrics) header.push(pad(metric.label, width(metric)), pad("×raw", 6))
  console.log(header.join(""))
  for (const impl of impls) {
    if (!table.samples.has(impl)) continue
    const cells = [pad(`    ${implLabel[impl]}`, 26, true)]
    for (const metric of table.metrics) {
      const summary = summarize(table, impl, metric)
      cells.push(pad(summary ? formatNumber(summary.median) : "-", width(metric)), pad(summary ? formatRatio(summary.ratio) : "-", 6))
    }
    console.log(cells.join(""))
  }
  const loads = [...table.samples.values()].flat().map((sample) => sample.otherLoad).filter((x): x is number => x !== undefined && !Number.isNaN(x))
  if (loads.length > 0) {
    console.log(`    (other processes used ${median(loads).toFixed(0)}% of the cores during these runs, median; at most ${Math.max(...loads).toFixed(0)}%)`)
  }
}

/** A target from issue 7: effect-socket's ratio to raw on one metric of one table. */
export interface Target {
  readonly workload: string
  readonly variant: string
  readonly side: "servers" | "clients"
  readonly metric: string
  /** Bound on the ratio: at least `bound` for "higher" metrics, at most for "lower" ones. */
  readonly bound: number
}

export interface TargetResult {
  readonly target: Target
  readonly better: Metric["better"]
  readonly ratio: number
  readonly platformRatio: number
  readonly met: boolean
  readonly aheadOfPlatform: boolean
}

export const checkTarget = (tables: ReadonlyArray<Table>, target: Target): TargetResult | undefined => {
  const table = tables.find((t) => t.workload === target.workload && t.variant === target.variant && t.side === target.side)
  const metric = table?.metrics.find((m) => m.key === target.metric)
  if (table === undefined || metric === undefined) return undefined
  const ours = summarize(table, "effect-socket", metric)
  const theirs = summarize(table, "platform", metric)
  if (ours === undefined) return undefined
  const higher = metric.better === "higher"
  const platformRatio = theirs?.ratio ?? Number.NaN
  return {
    target,
    better: metric.better,
    ratio: ours.ratio,
    platformRatio,
    met: higher ? ours.ratio >= target.bound : ours.ratio <= target.bound,
    aheadOfPlatform: Number.isNaN(platformRatio) || (higher ? ours.ratio > platformRatio : ours.ratio < platformRatio)
  }
}

export const printTargets = (results: ReadonlyArray<TargetResult>): void => {
  console.log("\ntargets (effect-socket / node:net, medians of this run)")
  for (const r of results) {
    const name = `${r.target.workload} ${r.target.variant} ${r.target.metric}`
    const bound = `${r.better === "higher" ? "≥" : "≤"} ${r.target.bound}`
    console.log(
      `  ${pad(name, 44, true)} ${pad(formatRatio(r.ratio), 6)}  target ${pad(bound, 6, true)} ${r.met ? "met   " : "MISSED"}` +
        (Number.isNaN(r.platformRatio)
          ? "   platform n/a"
          : `   platform ${pad(formatRatio(r.platformRatio), 5)}  ${r.aheadOfPlatform ? "ahead" : "NOT AHEAD"}`)
    )
  }
}
