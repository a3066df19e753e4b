/**
 * The messages between the orchestrator (`main.ts`) and its worker processes (`worker.ts`).
 * Each worker plays one role (server or client) for one implementation, and answers requests
 * over the `child_process.fork` IPC channel, one reply per request.
 */

/** The implementations compared. `raw` is the baseline every ratio is taken against. */
export const impls = ["raw", "platform", "effect-socket"] as const
export type Impl = (typeof impls)[number]

export const implLabel: Record<Impl, string> = {
  raw: "node:net",
  platform: "@effect/platform-node",
  "effect-socket": "effect-socket"
}

export type Role = "server" | "client"

/** What a server does with a connection: read and drop everything, or echo it back. */
export type ServerKind = "discard" | "echo"

/** A server's certificate and key (PEM); clients trust `cert` itself. */
export interface TlsMaterial {
  readonly cert: string
  readonly key: string
}

/** What a TLS client needs: the certificate to trust (the server's own, self-signed). */
export interface TlsTrust {
  readonly ca: string
}

export type ServerRequest =
  /** Listens on 127.0.0.1, port 0; with `tls`, TLS 1.3 over it. */
  | { readonly op: "listen"; readonly kind: ServerKind; readonly tls?: TlsMaterial | undefined }
  | { readonly op: "close"; readonly port: number }
  /** CPU time and memory of the server process; `gc: true` collects garbage first (needs --expose-gc). */
  | { readonly op: "usage"; readonly gc?: boolean }
  /** How many connections the handlers have started on since the process began. */
  | { readonly op: "accepted" }

export type ClientRequest =
  | {
    readonly op: "bulk"
    readonly port: number
    readonly bytes: number
    readonly chunk: number
    readonly tls?: TlsTrust | undefined
  }
  | {
    readonly op: "pingpong"
    readonly port: number
    readonly connections: number
    readonly size: number
    readonly warmupMs: number
    readonly durationMs: number
  }
  | {
    readonly op: "connrate"
    readonly port: number
    readonly concurrency: number
    readonly warmupMs: number
    readonly durationMs: number
    readonly tls?: TlsTrust | undefined
  }
  /**
   * Connects `attempts` times, one after the other, to a name that resolves to ::1 and then
   * 127.0.0.1 with Happy Eyeballs, and closes each connection at once.
   */
  | { readonly op: "eyeballs"; readonly port: number; readonly attempts: number }
  /** Opens `count` idle connections (raw client only) and keeps them until `idleClose`. */
  | { readonly op: "idleOpen"; readonly port: number; readonly count: number; readonly concurrency: number }
  | { readonly op: "idleClose" }

export type Request = ServerRequest | ClientRequest

export interface Usage {
  /** process.cpuUsage(): user and system CPU time in microseconds. */
  readonly cpu: NodeJS.CpuUsage
  /** Resident set size, bytes. */
  readonly rss: number
  /** V8 heap in use, bytes. */
  readonly heapUsed: number
  /** Memory of ArrayBuffers and other C++ objects tied to JS objects, bytes. */
  readonly external: number
}

export interface BulkResult {
  /** From connect to the server's FIN after the client's, milliseconds. */
  readonly elapsedMs: number
}

export interface PingPongResult {
  /** Round trips in the measured window. */
  readonly roundTrips: number
  readonly elapsedMs: number
  /** Round trips of the whole request, warm-up and wind-down included (for CPU per round trip). */
  readonly total: number
  /** Round-trip latency percentiles, microseconds. */
  readonly p50Us: number
  readonly p99Us: number
}

export interface EyeballsResult {
  /** Time from the start of each attempt to its connection, milliseconds. */
  readonly connectMs: ReadonlyArray<number>
}

export interface ConnRateResult {
  /** Connections completed in the measured window. */
  readonly connections: number
  readonly elapsedMs: number
  /** Connections of the whole request, warm-up and wind-down included (for CPU per connection). */
  readonly total: number
}

export type Envelope = { readonly id: number } & Request

export type Reply =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | { readonly id: number; readonly ok: false; readonly error: string }

/** Loopback only. */
export const HOST = "127.0.0.1"

/**
 * The name the Happy Eyeballs workload connects to. Never looked up: each client's resolver
 * (a Resolver double, Node's `lookup` option) answers ::1 and 127.0.0.1 for it.
 */
export const EYEBALLS_HOST = "bench.invalid"
