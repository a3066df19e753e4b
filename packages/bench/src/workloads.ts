/**
 * The workloads of issue 7. Each run pairs one client implementation with one server
 * implementation, each in its own process: servers are compared against the same node:net
 * client, clients against the same node:net server. A round runs every pair once, in an order
 * rotated from round to round, so that drift (thermal, page cache, other load) spreads evenly.
 */
import * as fs from "node:fs"
import * as os from "node:os"
import type { Config } from "./config.js"
import * as BlackHole from "./blackHole.js"
import type {
  BulkResult,
  ConnRateResult,
  EyeballsResult,
  Impl,
  PingPongResult,
  Request,
  TlsMaterial,
  Usage
} from "./protocol.js"
import { impls } from "./protocol.js"
import type { Metric, Table } from "./report.js"
import { median } from "./report.js"
import type { Worker, WorkerOptions } from "./spawn.js"

export interface Pool {
  readonly servers: Record<Impl, Worker>
  readonly clients: Record<Impl, Worker>
  /** How to start fresh workers (the memory workload uses new processes per run). */
  readonly spawn: (options: Omit<WorkerOptions, "taskset" | "cpu">) => Worker
}

interface Pair {
  readonly client: Impl
  readonly server: Impl
}

type Sample = Record<string, number>

const pairsFor = (config: Config): Array<Pair> => {
  const pairs: Array<Pair> = [{ client: "raw", server: "raw" }]
  for (const impl of impls) {
    if (impl === "raw") continue
    if (config.sides.has("servers")) pairs.push({ client: "raw", server: impl })
    if (config.sides.has("clients")) pairs.push({ client: impl, server: "raw" })
  }
  return pairs
}

const rotate = <A>(items: ReadonlyArray<A>, n: number): Array<A> => {
  const k = n % items.length
  return [...items.slice(k), ...items.slice(0, k)]
}

const progress = (text: string) => {
  if (process.stderr.isTTY) process.stderr.write(`\r\x1b[K${text}`)
}

const emptyTable = (workload: string, variant: string, side: Table["side"], metrics: ReadonlyArray<Metric>): Table => ({
  workload,
  variant,
  side,
  metrics,
  samples: new Map()
})

/**
 * Runs `measure` for every pair, `rounds` times, and files each sample under the side(s) it
 * compares. With `warmUp`, every pair first runs once unrecorded (`warm` true: a shorter run),
 * so that each worker's JIT has compiled the path before it is measured.
 */
const runRounds = async (
  config: Config,
  label: string,
  rounds: number,
  pairs: ReadonlyArray<Pair>,
  measure: (pair: Pair, warm: boolean) => Promise<Sample>,
  servers: Table,
  clients: Table,
  warmUp = true
): Promise<Array<Table>> => {
  if (warmUp) {
    for (const pair of pairs) {
      progress(`  ${label}: warm-up, ${pair.client} client → ${pair.server} server`)
      await measure(pair, true)
    }
  }
  for (let round = 0; round < rounds; round++) {
    for (const pair of rotate(pairs, round)) {
      progress(`  ${label}: round ${round + 1}/${rounds}, ${pair.client} client → ${pair.server} server`)
      const sample = await measure(pair, false)
      if (pair.client === "raw") push(servers, pair.server, sample)
      if (pair.server === "raw") push(clients, pair.client, sample)
    }
  }
  progress("")
  return [servers, clients].filter((table) => config.sides.has(table.side))
}

const push = (table: Table, impl: Impl, sample: Sample) => {
  const rows = table.samples.get(impl) ?? []
  rows.push(sample)
  table.samples.set(impl, rows)
}

const cpuMicros = (before: Usage, after: Usage) =>
  after.cpu.user - before.cpu.user + after.cpu.system - before.cpu.system

/** Busy CPU time of the whole machine so far, in microseconds (Linux /proc/stat), or undefined. */
const machineBusyMicros = (): number | undefined => {
  try {
    const fields = fs.readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/).slice(1).map(Number)
    // user nice system idle iowait irq softirq steal: all but idle and iowait are busy.
    const busy = fields.reduce((sum, value, i) => (i === 3 || i === 4 ? sum : sum + value), 0)
    return (busy * 1e6) / 100
  } catch {
    return undefined
  }
}

/**
 * Share of the machine's cores that other processes used during a run, in percent: busy time
 * minus what our two workers used. The machine is shared; a run with much of it is less sure.
 */
const otherLoad = (busyBefore: number | undefined, startedAt: number, ourCpuUs: number): number => {
  const busyAfter = machineBusyMicros()
  if (busyBefore === undefined || busyAfter === undefined) return Number.NaN
  const elapsedUs = (performance.now() - startedAt) * 1000
  return Math.max(0, (100 * (busyAfter - busyBefore - ourCpuUs)) / (elapsedUs * os.availableParallelism()))
}

/**
 * One run of `pair`: a fresh listening server of the given kind on the pair's server worker,
 * the client request, and the CPU time (µs) each side's process spent meanwhile.
 */
const runPair = async <A>(
  pool: Pool,
  pair: Pair,
  kind: "discard" | "echo",
  request: (port: number) => Request,
  tls?: TlsMaterial
): Promise<{ readonly result: A; readonly serverCpuUs: number; readonly clientCpuUs: number; readonly otherLoad: number }> => {
  const server = pool.servers[pair.server]
  const client = pool.clients[pair.client]
  const port = await server.request<number>({ op: "listen", kind, tls })
  try {
    const [s0, c0] = await Promise.all([server.request<Usage>({ op: "usage" }), client.request<Usage>({ op: "usage" })])
    const busy = machineBusyMicros()
    const startedAt = performance.now()
    const result = await client.request<A>(request(port))
    const [s1, c1] = await Promise.all([server.request<Usage>({ op: "usage" }), client.request<Usage>({ op: "usage" })])
    const serverCpuUs = cpuMicros(s0, s1)
    const clientCpuUs = cpuMicros(c0, c1)
    return { result, serverCpuUs, clientCpuUs, otherLoad: otherLoad(busy, startedAt, serverCpuUs + clientCpuUs) }
  } finally {
    await server.request({ op: "close", port })
  }
}

/** The CPU column of a table: the side being compared. */
const cpuMetric = (side: Table["side"], label: string, key: string): Metric => ({
  key: `${side === "servers" ? "server" : "client"}${key}`,
  label,
  better: "lower"
})

/** One connection streams `totalBytes` to a discarding server: MB/s and CPU per GB. */
const bulkTables = (
  config: Config,
  pool: Pool,
  workload: string,
  totalBytes: number,
  pairs: ReadonlyArray<Pair>,
  tls?: TlsMaterial
): Promise<Array<Table>> => {
  const metrics = (side: Table["side"]): Array<Metric> => [
    { key: "mbps", label: "MB/s", better: "higher" },
    cpuMetric(side, "CPU ms/GB", "CpuMsPerGB")
  ]
  const variant = `1 connection, ${totalBytes / 2 ** 20} MiB in ${config.bulkChunk / 1024} KiB writes`
  return runRounds(
    config,
    workload,
    config.rounds,
    pairs,
    async (pair, warm) => {
      const bytes = warm ? Math.max(config.bulkChunk, totalBytes / 8) : totalBytes
      const run = await runPair<BulkResult>(pool, pair, "discard", (port) => ({
        op: "bulk",
        port,
        bytes,
        chunk: config.bulkChunk,
        tls: tls === undefined ? undefined : { ca: tls.cert }
      }), tls)
      return {
        mbps: bytes / 1e6 / (run.result.elapsedMs / 1000),
        serverCpuMsPerGB: run.serverCpuUs / 1000 / (bytes / 1e9),
        clientCpuMsPerGB: run.clientCpuUs / 1000 / (bytes / 1e9),
        otherLoad: run.otherLoad
      }
    },
    emptyTable(workload, variant, "servers", metrics("servers")),
    emptyTable(workload, variant, "clients", metrics("clients"))
  )
}

/** 1. bulk: one connection streams `bulkBytes` to a discarding server. */
export const bulk = (config: Config, pool: Pool): Promise<Array<Table>> =>
  bulkTables(config, pool, "bulk", config.bulkBytes, pairsFor(config))

/** 2. ping-pong: `messageSize`-byte request/response on 1 and on `concurrency` connections. */
export const pingPong = async (config: Config, pool: Pool): Promise<Array<Table>> => {
  const metrics = (side: Table["side"]): Array<Metric> => [
    { key: "rtps", label: "round trips/s", better: "higher" },
    { key: "p50Us", label: "p50 µs", better: "lower" },
    { key: "p99Us", label: "p99 µs", better: "lower" },
    cpuMetric(side, "CPU µs/trip", "CpuUsPerTrip")
  ]
  const tables: Array<Table> = []
  for (const connections of [1, config.concurrency]) {
    const variant = `${connections} connection${connections === 1 ? "" : "s"}, ${config.messageSize} B messages`
    tables.push(
      ...(await runRounds(
        config,
        `ping-pong ×${connections}`,
        config.rounds,
        pairsFor(config),
        async (pair, warm) => {
          const run = await runPair<PingPongResult>(pool, pair, "echo", (port) => ({
            op: "pingpong",
            port,
            connections,
            size: config.messageSize,
            warmupMs: config.warmupMs,
            durationMs: warm ? config.warmupMs : config.durationMs
          }))
          const { elapsedMs, p50Us, p99Us, roundTrips, total } = run.result
          return {
            rtps: roundTrips / (elapsedMs / 1000),
            p50Us,
            p99Us,
            serverCpuUsPerTrip: run.serverCpuUs / total,
            clientCpuUsPerTrip: run.clientCpuUs / total,
            otherLoad: run.otherLoad
          }
        },
        emptyTable("pingpong", variant, "servers", metrics("servers")),
        emptyTable("pingpong", variant, "clients", metrics("clients"))
      ))
    )
  }
  return tables
}

/** Connections opened, one byte each way, closed; sequential and concurrent; conn/s and CPU each. */
const connRateTables = async (
  config: Config,
  pool: Pool,
  workload: string,
  unit: string,
  pairs: ReadonlyArray<Pair>,
  tls?: TlsMaterial
): Promise<Array<Table>> => {
  const metrics = (side: Table["side"]): Array<Metric> => [
    { key: "cps", label: `${unit}/s`, better: "higher" },
    cpuMetric(side, `CPU µs/${unit}`, "CpuUsPerConn")
  ]
  const tables: Array<Table> = []
  for (const concurrency of [1, config.concurrency]) {
    const variant = concurrency === 1 ? "sequential" : `${concurrency} concurrent`
    tables.push(
      ...(await runRounds(
        config,
        `${workload} ${variant}`,
        config.rounds,
        pairs,
        async (pair, warm) => {
          const run = await runPair<ConnRateResult>(pool, pair, "echo", (port) => ({
            op: "connrate",
            port,
            concurrency,
            warmupMs: config.warmupMs,
            durationMs: warm ? config.warmupMs : config.durationMs,
            tls: tls === undefined ? undefined : { ca: tls.cert }
          }), tls)
          const { connections, elapsedMs, total } = run.result
          return {
            cps: connections / (elapsedMs / 1000),
            serverCpuUsPerConn: run.serverCpuUs / total,
            clientCpuUsPerConn: run.clientCpuUs / total,
            otherLoad: run.otherLoad
          }
        },
        emptyTable(workload, variant, "servers", metrics("servers")),
        emptyTable(workload, variant, "clients", metrics("clients"))
      ))
    )
  }
  return tables
}

/** 3. connection rate: open, exchange one byte, half-close, wait for close; sequential and concurrent. */
export const connRate = (config: Config, pool: Pool): Promise<Array<Table>> =>
  connRateTables(config, pool, "connrate", "conn", pairsFor(config))

/** Pairs for TLS: @effect/platform-node has no TLS sockets. */
const tlsPairs = (config: Config) => pairsFor(config).filter((pair) => pair.client !== "platform" && pair.server !== "platform")

/**
 * 4. TLS 1.3 with an ECDSA P-256 certificate: handshakes (the connection-rate exchange over
 * TLS, a full handshake each) and bulk over one TLS connection. node:tls against effect-socket.
 */
export const tls = async (config: Config, pool: Pool, material: TlsMaterial): Promise<Array<Table>> => [
  ...(await connRateTables(config, pool, "tls handshakes", "handshake", tlsPairs(config), material)),
  ...(await bulkTables(config, pool, "tls bulk", config.tlsBulkBytes, tlsPairs(config), material))
]

/**
 * 6. Happy Eyeballs: a name resolving to ::1 and 127.0.0.1 where [::1]:port drops SYNs and
 * 127.0.0.1:port answers. Time to connect, against Node's own `autoSelectFamily` (which
 * @effect/platform-node's `makeNet` inherits). Both wait one Connection Attempt Delay (250 ms
 * each by default) before trying IPv4.
 */
export const eyeballs = async (config: Config, pool: Pool): Promise<Array<Table>> => {
  const server = pool.servers.raw
  const port = await server.request<number>({ op: "listen", kind: "echo" })
  const hole = await BlackHole.make(port)
  try {
    const pairs = impls.map((client) => ({ client, server: "raw" as const }))
    return await runRounds(
      { ...config, sides: new Set(["clients"]) },
      "happy eyeballs",
      config.rounds,
      pairs,
      async ({ client }, warm) => {
        const result = await pool.clients[client].request<EyeballsResult>({
          op: "eyeballs",
          port,
          attempts: warm ? 1 : config.eyeballsAttempts
        })
        return { connectMs: median(result.connectMs) }
      },
      emptyTable("eyeballs", "IPv6 black-holed", "servers", []),
      emptyTable("eyeballs", "IPv6 black-holed", "clients", [{ key: "connectMs", label: "connect ms", better: "lower" }])
    )
  } finally {
    await hole.close()
    await server.request({ op: "close", port })
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Polls the server until its handlers have started on `count` connections, or fails after 60 s. */
const awaitAccepted = async (server: Worker, count: number) => {
  const deadline = Date.now() + 60_000
  while ((await server.request<number>({ op: "accepted" })) < count) {
    if (Date.now() > deadline) throw new Error(`server did not accept ${count} connections within 60 s`)
    await sleep(20)
  }
}

/**
 * 5. memory: a fresh echo server (its handler started on each connection) holds `count` idle
 * connections from a node:net client; bytes of RSS and V8 heap per connection, after full GCs,
 * against the same server's figures before the connections opened.
 */
export const memory = async (config: Config, pool: Pool, count: number): Promise<Array<Table>> => {
  const metrics: Array<Metric> = [
    { key: "heapPerConn", label: "heap B/conn", better: "lower" },
    { key: "rssPerConn", label: "RSS B/conn", better: "lower" }
  ]
  const warmup = Math.min(200, count)
  const pairs = pairsFor({ ...config, sides: new Set(["servers"]) })
  const [table] = await runRounds(
    { ...config, sides: new Set(["servers"]) },
    `memory, ${count} idle connections`,
    config.memoryRounds,
    pairs,
    async ({ server: impl }) => {
      const server = pool.spawn({ role: "server", impl, raiseFileLimit: true, nodeOptions: ["--expose-gc"] })
      const client = pool.spawn({ role: "client", impl: "raw", raiseFileLimit: true })
      try {
        const port = await server.request<number>({ op: "listen", kind: "echo" })
        // Warm up: the first connections load and compile code that is not per-connection cost.
        await client.request({ op: "idleOpen", port, count: warmup, concurrency: 50 })
        await awaitAccepted(server, warmup)
        await client.request({ op: "idleClose" })
        await sleep(200)
        const before = await server.request<Usage>({ op: "usage", gc: true })
        await client.request({ op: "idleOpen", port, count, concurrency: 100 })
        await awaitAccepted(server, warmup + count)
        await sleep(200)
        const after = await server.request<Usage>({ op: "usage", gc: true })
        await client.request({ op: "idleClose" })
        return {
          heapPerConn: (after.heapUsed - before.heapUsed) / count,
          rssPerConn: (after.rss - before.rss) / count
        }
      } finally {
        await Promise.all([client.stop(), server.stop()])
      }
    },
    emptyTable("memory", `${count} idle connections`, "servers", metrics),
    emptyTable("memory", `${count} idle connections`, "clients", metrics),
    false
  )
  return table === undefined ? [] : [table]
}
