/** Command-line options of `pnpm bench` and the sizes of each mode. */

export const workloadNames = ["bulk", "pingpong", "connrate", "tls", "memory", "eyeballs"] as const
export type WorkloadName = (typeof workloadNames)[number]

export interface Config {
  readonly mode: "full" | "quick"
  /** Rounds of every throughput workload; each round runs every implementation once, in rotated order. */
  readonly rounds: number
  /** Rounds of the memory workload (fresh processes each). */
  readonly memoryRounds: number
  /** Bytes the bulk client sends per run. */
  readonly bulkBytes: number
  /** Bytes the TLS bulk client sends per run. */
  readonly tlsBulkBytes: number
  /** Happy Eyeballs connections per run (the run's median is its sample). */
  readonly eyeballsAttempts: number
  /** Bytes per bulk write. */
  readonly bulkChunk: number
  /** Ping-pong message size, bytes. */
  readonly messageSize: number
  /** Concurrent connections of the "many" ping-pong and connection-rate variants. */
  readonly concurrency: number
  /** Time-based runs: unmeasured warm-up, then the measured window, milliseconds. */
  readonly warmupMs: number
  readonly durationMs: number
  /** Idle connections held open for the memory workload (capped by the open-file limit). */
  readonly idleConnections: number
  readonly only: ReadonlySet<WorkloadName>
  /** Pin server and client processes to different cores with taskset (when available). */
  readonly pin: boolean
  /** Write V8 CPU profiles of every worker (`node --cpu-prof`) under bench-results/profiles. */
  readonly profile: boolean
  /** Which sides to compare: servers (same raw client), clients (same raw server), or both. */
  readonly sides: ReadonlySet<"servers" | "clients">
}

const MiB = 1024 * 1024

const full: Omit<Config, "only" | "pin" | "profile" | "sides"> = {
  mode: "full",
  rounds: 5,
  memoryRounds: 3,
  bulkBytes: 1024 * MiB,
  tlsBulkBytes: 256 * MiB,
  eyeballsAttempts: 4,
  bulkChunk: 64 * 1024,
  messageSize: 64,
  concurrency: 50,
  warmupMs: 300,
  durationMs: 1_500,
  idleConnections: 10_000
}

const quick: typeof full = {
  ...full,
  mode: "quick",
  rounds: 2,
  memoryRounds: 1,
  bulkBytes: 64 * MiB,
  tlsBulkBytes: 16 * MiB,
  eyeballsAttempts: 1,
  warmupMs: 50,
  durationMs: 200,
  idleConnections: 1_000
}

export const usage = `Usage: pnpm bench [--quick] [--rounds N] [--only bulk,pingpong,connrate,tls,memory,eyeballs]
                  [--sides servers,clients] [--no-pin] [--profile]

  --quick      a short run: fewer rounds, shorter windows, 64 MiB bulk, 1,000 idle connections
  --rounds N   rounds of each throughput workload (default 5, quick 2)
  --only LIST  run only these workloads
  --sides LIST compare servers (same node:net client), clients (same node:net server), or both
  --no-pin     do not pin server and client to different cores with taskset
  --profile    node --cpu-prof every worker; profiles go to bench-results/profiles/`

export const parseArgs = (args: ReadonlyArray<string>): Config => {
  const rest = args.filter((arg) => arg !== "--")
  const flag = (name: string) => rest.includes(name)
  const value = (name: string) => {
    const inline = rest.find((arg) => arg.startsWith(`${name}=`))
    if (inline !== undefined) return inline.slice(name.length + 1)
    const at = rest.indexOf(name)
    return at >= 0 ? rest[at + 1] : undefined
  }
  const list = <A extends string>(name: string, allowed: ReadonlyArray<A>): Set<A> | undefined => {
    const raw = value(name)
    if (raw === undefined) return undefined
    const items = raw.split(",").map((s) => s.trim()).filter((s) => s.length > 0)
    for (const item of items) {
      if (!allowed.includes(item as A)) throw new Error(`${name}: unknown "${item}"; one of ${allowed.join(", ")}`)
    }
    return new Set(items as Array<A>)
  }
  const base = flag("--quick") ? quick : full
  const rounds = value("--rounds")
  return {
    ...base,
    ...(rounds !== undefined ? { rounds: Math.max(1, Number(rounds)), memoryRounds: Math.max(1, Number(rounds)) } : {}),
    only: list("--only", workloadNames) ?? new Set(workloadNames),
    sides: list("--sides", ["servers", "clients"] as const) ?? new Set(["servers", "clients"] as const),
    pin: !flag("--no-pin"),
    profile: flag("--profile")
  }
}
