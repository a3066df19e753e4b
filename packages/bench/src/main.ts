/**
 * `pnpm bench [--quick]`: effect-socket against raw node:net and @effect/platform-node on
 * loopback, every implementation in the same run, alternating, several rounds; prints medians
 * and ratios to raw Node and writes every sample to bench-results/bench-<date>.json.
 * See docs/performance.md for the method.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { Config, WorkloadName } from "./config.js"
import { parseArgs, usage } from "./config.js"
import type { Impl } from "./protocol.js"
import { impls } from "./protocol.js"
import type { Table, Target, TargetResult } from "./report.js"
import { checkTarget, median, printTable, printTargets, summarize } from "./report.js"
import type { WorkerOptions } from "./spawn.js"
import { raisedFileLimit, tasksetPath, Worker } from "./spawn.js"
import type { Pool } from "./workloads.js"
import { selfSigned } from "./tlsMaterial.js"
import { bulk, connRate, eyeballs, memory, pingPong, tls } from "./workloads.js"

/** Issue 7's targets for effect-socket, as ratios to raw node:net in the same run. */
const targets: ReadonlyArray<Target> = [
  { workload: "bulk", variant: "", side: "servers", metric: "mbps", bound: 1.0 },
  { workload: "pingpong", variant: "1 ", side: "servers", metric: "rtps", bound: 0.9 },
  { workload: "pingpong", variant: "50 ", side: "servers", metric: "rtps", bound: 0.9 },
  { workload: "connrate", variant: "sequential", side: "servers", metric: "cps", bound: 0.9 },
  { workload: "connrate", variant: "50 ", side: "servers", metric: "cps", bound: 0.9 },
  { workload: "tls handshakes", variant: "50 ", side: "servers", metric: "cps", bound: 0.9 },
  { workload: "memory", variant: "", side: "servers", metric: "heapPerConn", bound: 1.5 },
  { workload: "memory", variant: "", side: "servers", metric: "rssPerConn", bound: 1.5 }
]


const machine = (config: Config, taskset: string | undefined) => {
  const cpus = os.cpus()
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cores: os.availableParallelism(),
    cpu: cpus[0]?.model.trim() ?? "unknown",
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadAverage: os.loadavg()[0]!,
    pinning: config.pin && taskset !== undefined ? "server on core 0, client on core 1 (taskset)" : "none"
  }
}

const run = async (config: Config) => {
  const taskset = config.pin ? tasksetPath() : undefined
  const info = machine(config, taskset)
  console.log(`effect-socket bench (${config.mode}), ${info.date}`)
  console.log(`  ${info.cores} cores (${info.cpu}), ${info.memoryGiB} GiB, ${info.platform}, Node ${info.node}`)
  console.log(`  pinning: ${info.pinning}; ${config.rounds} rounds, medians; ×raw = implementation / node:net`)
  if (config.mode === "quick") {
    console.log("  quick: a smoke run (short windows, small transfers, 1,000 connections); take figures from a full run")
  }
  if (info.loadAverage > info.cores / 4) {
    console.log(`  warning: load average ${info.loadAverage.toFixed(1)} at start: other work competes for the cores; trust CPU/unit over rates`)
  }

  const resultsDir = path.resolve("bench-results")
  const profileDir = path.join(resultsDir, "profiles")
  if (config.profile) fs.mkdirSync(profileDir, { recursive: true })
  let spawned = 0
  const profiling = (options: Omit<WorkerOptions, "taskset" | "cpu">) =>
    config.profile
      ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${options.role}-${options.impl}-${++spawned}.cpuprofile`]
      : []
  const spawn = (options: Omit<WorkerOptions, "taskset" | "cpu">) =>
    new Worker({
      ...options,
      taskset,
      cpu: options.role === "server" ? 0 : 1,
      nodeOptions: [...(options.nodeOptions ?? []), ...profiling(options)]
    })
  const each = (role: "server" | "client") =>
    Object.fromEntries(impls.map((impl) => [impl, spawn({ role, impl })])) as Record<Impl, Worker>
  const pool: Pool = { servers: each("server"), clients: each("client"), spawn }
  const stopAll = () => Promise.all([...Object.values(pool.servers), ...Object.values(pool.clients)].map((w) => w.stop()))

  const tables: Array<Table> = []
  const section = async (name: WorkloadName, title: string, body: () => Promise<Array<Table>>) => {
    if (!config.only.has(name)) return
    console.log(`\n${title}`)
    const startedAt = performance.now()
    const done = await body()
    done.forEach(printTable)
    console.log(`  (${((performance.now() - startedAt) / 1000).toFixed(1)} s)`)
    tables.push(...done)
  }
  try {
    await section("bulk", `1. bulk: 1 connection, ${config.bulkBytes / 2 ** 20} MiB in ${config.bulkChunk / 1024} KiB writes to a discarding server (MB = 10^6 B; CPU of the side compared)`, () => bulk(config, pool))
    await section("pingpong", `2. ping-pong: ${config.messageSize} B request/response, echo server`, () => pingPong(config, pool))
    await section("connrate", "3. connection rate: connect, 1 byte each way, half-close, wait for close", () => connRate(config, pool))
    if (config.only.has("tls")) {
      const material = selfSigned()
      if (material === undefined) console.log("\n4. TLS: skipped, the openssl command (to make a certificate) is missing")
      else {
        await section("tls", "4. TLS 1.3, ECDSA P-256: handshakes (connect, 1 byte each way, close) and bulk over TLS; node:tls vs effect-socket", () =>
          tls(config, pool, material))
      }
    }
    const limit = raisedFileLimit()
    const count = Math.min(config.idleConnections, limit - 500)
    await section("memory", `5. memory: ${count} idle connections held by an echo server (open-file limit ${limit})`, () => memory(config, pool, count))
    await section("eyeballs", `6. Happy Eyeballs: a name with ::1 (black-holed: SYNs dropped) and 127.0.0.1; median time to connect over ${config.eyeballsAttempts} attempts per run`, () =>
      eyeballs(config, pool))
  } finally {
    await stopAll()
  }

  const results = targets
    .map((target) => {
      const table = tables.find((t) => t.workload === target.workload && t.variant.startsWith(target.variant))
      return table === undefined ? undefined : checkTarget(tables, { ...target, variant: table.variant })
    })
    .filter((r): r is TargetResult => r !== undefined)
  if (results.length > 0) printTargets(results)
  console.log(`\nload average at the end: ${os.loadavg()[0]!.toFixed(1)} (${info.loadAverage.toFixed(1)} at start)`)

  fs.mkdirSync(resultsDir, { recursive: true })
  const file = path.join(resultsDir, `bench-${info.date.replace(/[:.]/g, "-")}.json`)
  fs.writeFileSync(file, JSON.stringify({ machine: info, config: { ...config, only: [...config.only], sides: [...config.sides] }, tables: tables.map(toJson), targets: results }, null, 2))
  console.log(`\nresults: ${path.relative(process.cwd(), file)}${config.profile ? `, profiles: ${path.relative(process.cwd(), profileDir)}/` : ""}`)
}

const toJson = (table: Table) => ({
  workload: table.workload,
  variant: table.variant,
  side: table.side,
  rows: impls.filter((impl) => table.samples.has(impl)).map((impl) => ({
    impl,
    samples: table.samples.get(impl),
    medians: Object.fromEntries(table.metrics.map((m) => [m.key, median(table.samples.get(impl)!.map((s) => s[m.key]!))])),
    ratios: Object.fromEntries(table.metrics.map((m) => [m.key, summarize(table, impl, m)?.ratio]))
  }))
})

const args = process.argv.slice(2)
if (args.includes("--help") || args.includes("-h")) {
  console.log(usage)
} else {
  const config = parseArgs(args)
  // Bounded: whatever hangs, the run ends (workers exit when this process's IPC channel closes).
  const limitMs = config.mode === "quick" ? 180_000 : 1_200_000
  const watchdog = setTimeout(() => {
    console.error(`\nbench: still running after ${limitMs / 1000} s, giving up`)
    process.exit(2)
  }, limitMs)
  watchdog.unref()
  run(config).then(
    () => clearTimeout(watchdog),
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    }
  )
}
