/**
 * Support for the reliability suite: CI and soak sizes, resource snapshots (open file
 * descriptors and Node's active handles), seeded interruption points, and echo servers.
 *
 * Sizes: every count is `size(ci, full)`. `SOAK=1` (as `pnpm soak` sets) picks the full one;
 * `SEED=n` replays the random choices of a failed run (every failure message names its seed).
 */
import type { Connection } from "@effect-socket/socket/Connection"
import type { Server } from "@effect-socket/socket/Server"
import * as ServerModule from "@effect-socket/socket/Server"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as fc from "fast-check"
import * as fs from "node:fs"
import * as Certificates from "../fixtures/certificates.js"

/** Whether the full-size soak runs (`SOAK=1`). */
const SOAK = process.env.SOAK === "1"

/** `ci` in the CI-sized run, `full` in the soak. */
export const size = (ci: number, full: number): number => (SOAK ? full : ci)

/** A test's time budget: generous, as a soak runs for minutes. */
export const TIMEOUT = SOAK ? 30 * 60_000 : 60_000

/** The seed of this file's random choices: `SEED`, or a fresh one that failures report. */
export const SEED = process.env.SEED !== undefined ? Number(process.env.SEED) : Math.floor(Math.random() * 2 ** 31)

/** What a test must leave behind as it found it. */
export interface Resources {
  /** Entries of /proc/self/fd. */
  readonly fds: number
  /** Node's active handles and requests by kind (`TCPSocketWrap`, `PipeWrap`, `Timeout`, …). */
  readonly handles: Readonly<Record<string, number>>
}

const countFds = () => {
  // readdir holds one descriptor of its own on the directory while it lists it.
  return fs.readdirSync("/proc/self/fd").length - 1
}

/** The process's open file descriptors and active handles now. */
export const resources = (): Resources => {
  const handles: Record<string, number> = {}
  for (const kind of process.getActiveResourcesInfo()) handles[kind] = (handles[kind] ?? 0) + 1
  return { fds: countFds(), handles }
}

/** What `now` holds beyond `baseline`: `fds +3, TCPSocketWrap +2`, or `""` when nothing. */
const excess = (baseline: Resources, now: Resources): string => {
  const extra: Array<string> = []
  if (now.fds > baseline.fds) extra.push(`fds +${now.fds - baseline.fds}`)
  for (const [kind, count] of Object.entries(now.handles)) {
    const before = baseline.handles[kind] ?? 0
    if (count > before) extra.push(`${kind} +${count - before}`)
  }
  return extra.join(", ")
}

/**
 * Waits (up to 5 seconds of real time: a destroyed socket releases its handle on a later tick)
 * until nothing is open beyond `baseline`, and returns what is still open beyond it, `""` when
 * nothing.
 */
export const settle = (baseline: Resources): Effect.Effect<string> =>
  Effect.promise(async () => {
    const deadline = Date.now() + 5_000
    let extra = excess(baseline, resources())
    while (extra !== "" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      extra = excess(baseline, resources())
    }
    return extra
  })

/**
 * A point in time to interrupt at, relative to the start of an operation: after `n` turns of
 * Effect's scheduler (no I/O in between), after `n` turns of the event loop (I/O callbacks run in
 * between), or after `n` milliseconds.
 */
export type InterruptionPoint =
  | { readonly kind: "yield"; readonly n: number }
  | { readonly kind: "immediate"; readonly n: number }
  | { readonly kind: "sleep"; readonly n: number }

const interruptionPoint = (maxSleep: number): fc.Arbitrary<InterruptionPoint> =>
  fc.oneof(
    fc.record({ kind: fc.constant("yield" as const), n: fc.nat(30) }),
    fc.record({ kind: fc.constant("immediate" as const), n: fc.nat(8) }),
    fc.record({ kind: fc.constant("sleep" as const), n: fc.nat(maxSleep) })
  )

/**
 * `count` interruption points drawn with {@link SEED}, up to `maxSleep` milliseconds (default
 * 5) for the sleeping kind: long enough to reach past a loopback handshake.
 */
export const interruptionPoints = (
  count: number,
  options: { readonly maxSleep?: number | undefined } = {}
): ReadonlyArray<InterruptionPoint> => fc.sample(interruptionPoint(options.maxSleep ?? 5), { numRuns: count, seed: SEED })

const immediate = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/** Waits until `point`. */
export const waitUntil = (point: InterruptionPoint): Effect.Effect<void> => {
  switch (point.kind) {
    case "yield":
      return Effect.repeatN(Effect.yieldNow(), point.n)
    case "immediate":
      return Effect.repeatN(immediate, point.n)
    case "sleep":
      return Effect.sleep(point.n)
  }
}

/** The test certificates (see fixtures/certificates.ts), removed when the scope closes. */
export const certificates: Effect.Effect<Certificates.Certificates, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(Certificates.generate),
  (certs) => Effect.sync(() => Certificates.remove(certs))
)

/** Echoes every byte back, then half-closes when the peer does. */
export const echo = (connection: Connection): Effect.Effect<void, unknown> => Stream.run(connection.read, connection.sink)

/** Serves `server` with `handler` in a fiber of the current scope. */
export const serveInBackground = <R>(
  server: Server,
  handler: (connection: Connection) => Effect.Effect<unknown, unknown, R>
) => Effect.forkScoped(ServerModule.serve(server, handler))

/** Reads until the peer half-closes and returns everything as one buffer. */
export const readAll = (connection: Connection): Effect.Effect<Buffer, unknown> =>
  Effect.map(Stream.runCollect(connection.read), (chunks) => Buffer.concat(Chunk.toArray(chunks)))

/** Reads until `n` bytes have come (or the peer half-closes first) and returns them as one buffer. */
export const readAtLeast = (connection: Connection, n: number): Effect.Effect<Buffer, unknown> =>
  connection.read.pipe(
    Stream.mapAccum(0, (seen, chunk) => [seen + chunk.length, [seen + chunk.length, chunk] as const]),
    Stream.takeUntil(([seen]) => seen >= n),
    Stream.runCollect,
    Effect.map((items) => Buffer.concat(Chunk.toArray(items).map(([, chunk]) => chunk)))
  )

/** The JSON lines a child process prints, as they come. */
export const jsonLines = (stream: NodeJS.ReadableStream): Effect.Effect<Queue.Dequeue<unknown>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = yield* Effect.acquireRelease(Queue.unbounded<unknown>(), Queue.shutdown)
    let text = ""
    stream.on("data", (chunk: Buffer) => {
      text += chunk.toString()
      for (let end = text.indexOf("\n"); end >= 0; end = text.indexOf("\n")) {
        const line = text.slice(0, end)
        text = text.slice(end + 1)
        try {
          Queue.unsafeOffer(queue, JSON.parse(line))
        } catch {
          Queue.unsafeOffer(queue, { unparsed: line })
        }
      }
    })
    return queue
  })

/** The next line of `lines` that has `key`, its value; other lines are passed to `other`. */
export const nextWith = <A>(
  lines: Queue.Dequeue<unknown>,
  key: string,
  other: (line: unknown) => void = () => {}
): Effect.Effect<A> =>
  Effect.gen(function*() {
    while (true) {
      const line = yield* Queue.take(lines)
      if (typeof line === "object" && line !== null && key in line) return (line as Record<string, A>)[key]!
      other(line)
    }
  })
