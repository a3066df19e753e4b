/**
 * Child processes for end-to-end tests (the built `effect-socket`, the examples, `socat`, …),
 * each owned by a scope that kills it and waits for it to be gone.
 */
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as child_process from "node:child_process"

export interface Exited {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export interface Process {
  readonly child: child_process.ChildProcessWithoutNullStreams
  /** Everything written to stdout so far. */
  readonly stdout: () => Buffer
  /** Everything written to stderr so far, as text. */
  readonly stderr: () => string
  /** Completes once the process has exited and its stdio pipes are closed. */
  readonly closed: Effect.Effect<Exited>
  /** Waits for `pattern` in the output (as written so far or later) and returns the match. */
  readonly waitFor: (stream: "stdout" | "stderr", pattern: RegExp) => Effect.Effect<RegExpMatchArray, Error>
  /** `waitFor("stderr", pattern)`. */
  readonly waitForStderr: (pattern: RegExp) => Effect.Effect<RegExpMatchArray, Error>
  /** Writes to stdin and, when `end` is set, closes it. */
  readonly input: (data: Uint8Array | string, end?: boolean) => Effect.Effect<void>
}

/**
 * Starts `command args`, with `env` added to the environment; `inheritFds` become the child's
 * fds 3, 4, …. Closing the scope kills it (SIGKILL) if it still runs and waits until
 * it is gone, so no process or pipe outlives the test.
 */
export const spawn = (
  command: string,
  args: ReadonlyArray<string>,
  options: { readonly inheritFds?: ReadonlyArray<number>; readonly env?: Readonly<Record<string, string>> } = {}
): Effect.Effect<Process, never, Scope.Scope> =>
  Effect.gen(function*() {
    const closed = yield* Deferred.make<Exited>()
    const child = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const child = child_process.spawn(command, args, {
          stdio: ["pipe", "pipe", "pipe", ...(options.inheritFds ?? [])],
          env: { ...process.env, ...options.env }
        }) as child_process.ChildProcessWithoutNullStreams
        child.on("close", (code, signal) => Deferred.unsafeDone(closed, Effect.succeed({ code, signal })))
        // A test may stop writing or reading early: EPIPE on our side of a pipe is not a failure.
        child.stdin.on("error", () => {})
        return child
      }),
      (child) =>
        Effect.suspend(() => {
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
          return Deferred.await(closed)
        })
    )
    const out: Array<Buffer> = []
    let err = ""
    const watchers = new Set<() => void>()
    const notify = () => {
      for (const watcher of watchers) watcher()
    }
    child.stdout.on("data", (chunk: Buffer) => {
      out.push(chunk)
      notify()
    })
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString("utf8")
      notify()
    })
    const text = { stdout: () => Buffer.concat(out).toString("utf8"), stderr: () => err }
    const waitFor = (stream: "stdout" | "stderr", pattern: RegExp) =>
      Effect.async<RegExpMatchArray, Error>((resume) => {
        const check = () => {
          const match = pattern.exec(text[stream]())
          if (match !== null) {
            cleanup()
            resume(Effect.succeed(match))
          }
        }
        const onClose = () => {
          check()
          if (!watchers.has(check)) return
          cleanup()
          resume(Effect.fail(new Error(`process ended before writing ${pattern} to ${stream}; it wrote:\n${text[stream]()}`)))
        }
        const cleanup = () => {
          watchers.delete(check)
          child.off("close", onClose)
        }
        watchers.add(check)
        child.once("close", onClose)
        check()
        return Effect.sync(cleanup)
      })
    const input = (data: Uint8Array | string, end = false) =>
      Effect.async<void>((resume) => {
        child.stdin.write(data, () => {
          if (end) child.stdin.end()
          resume(Effect.void)
        })
      })
    return {
      child,
      stdout: () => Buffer.concat(out),
      stderr: () => err,
      closed: Deferred.await(closed),
      waitFor,
      waitForStderr: (pattern) => waitFor("stderr", pattern),
      input
    } satisfies Process
  })

