/**
 * Test support for Unix sockets and child processes: temporary directories and spawned peers
 * (socat, Node children) that are always removed or killed when the test's scope closes.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as cp from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/** A fresh directory under the system temp dir (short, so socket paths stay short), removed afterwards. */
export const tempDir: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "es-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** A spawned process, killed (SIGKILL if it ignores SIGTERM) and awaited, stdio closed, when the scope closes. */
export const spawn = (
  command: string,
  args: ReadonlyArray<string>,
  options: cp.SpawnOptions = {}
): Effect.Effect<cp.ChildProcess, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const child = cp.spawn(command, args, { stdio: ["pipe", "pipe", "inherit"], ...options })
      child.on("error", () => {})
      return child
    }),
    (child) => closed(child, true)
  )

/** Waits until the process has exited and its stdio is closed; kills it first when `kill`. */
export const closed = (child: cp.ChildProcess, kill = false): Effect.Effect<{ readonly code: number | null }> =>
  Effect.async((resume) => {
    const done = () => resume(Effect.succeed({ code: child.exitCode }))
    const finished = (child.exitCode !== null || child.signalCode !== null) &&
      [child.stdin, child.stdout, child.stderr].every((s) => s === null || s.destroyed)
    if (finished) return done()
    child.once("close", done)
    if (kill && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM")
      const force = setTimeout(() => child.kill("SIGKILL"), 2_000)
      child.once("exit", () => clearTimeout(force))
    }
  })

/** Everything a stream yields until it ends, as text. */
export const readAll = (stream: NodeJS.ReadableStream): Effect.Effect<string> =>
  Effect.async((resume) => {
    const chunks: Array<Buffer> = []
    stream.on("data", (chunk: Buffer) => chunks.push(chunk))
    stream.once("end", () => resume(Effect.succeed(Buffer.concat(chunks).toString())))
  })

/** The first line a stream yields (without its newline), parsed as JSON. */
export const readJsonLine = (stream: NodeJS.ReadableStream): Effect.Effect<unknown> =>
  Effect.async((resume) => {
    let text = ""
    const onData = (chunk: Buffer) => {
      text += chunk.toString()
      const end = text.indexOf("\n")
      if (end < 0) return
      stream.off("data", onData)
      stream.pause()
      resume(Effect.try(() => JSON.parse(text.slice(0, end)) as unknown).pipe(Effect.orDie))
    }
    stream.on("data", onData)
  })

/** Waits until `file` exists (a peer created its socket), polling every 10 ms. */
export const fileExists = (file: string): Effect.Effect<void> =>
  Effect.async((resume) => {
    const check = () => (fs.existsSync(file) ? resume(Effect.void) : (timer = setTimeout(check, 10)))
    let timer: NodeJS.Timeout | undefined = undefined
    check()
    return Effect.sync(() => clearTimeout(timer))
  })

/**
 * Waits until something accepts connections on the Unix socket `file` (a peer such as socat
 * creates the file when it binds, a moment before it listens).
 */
export const acceptsConnections = (file: string): Effect.Effect<void> =>
  Effect.async((resume) => {
    let timer: NodeJS.Timeout | undefined = undefined
    let probe: net.Socket | undefined = undefined
    const check = () => {
      probe = net.connect({ path: file })
      probe.once("connect", () => {
        probe!.destroy()
        resume(Effect.void)
      })
      probe.once("error", () => {
        probe!.destroy()
        timer = setTimeout(check, 10)
      })
    }
    check()
    return Effect.sync(() => {
      clearTimeout(timer)
      probe?.destroy()
    })
  })

/**
 * Runs `socat` with `args` as a one-shot client: writes `input` to its stdin, closes it, and
 * returns what it printed once it exits.
 */
export const socat = (args: ReadonlyArray<string>, input: string): Effect.Effect<{ readonly out: string; readonly code: number | null }, never, Scope.Scope> =>
  Effect.gen(function*() {
    const child = yield* spawn("socat", args)
    child.stdin!.end(input)
    const out = yield* readAll(child.stdout!)
    const { code } = yield* closed(child)
    return { out, code }
  })

/**
 * A socket file nobody listens on, as a server that crashed leaves it: `socat` binds and
 * listens on `file`, then is killed with SIGKILL, so that nothing removes the file.
 */
export const staleSocket = (file: string): Effect.Effect<void, never, Scope.Scope> =>
  Effect.scoped(Effect.gen(function*() {
    const child = yield* spawn("socat", [`UNIX-LISTEN:${file}`, "PIPE"], { stdio: "ignore" })
    yield* fileExists(file)
    child.kill("SIGKILL")
    yield* closed(child)
  }))

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "../fixtures")

/**
 * The arguments that make `node` run a TypeScript fixture of `test/fixtures` from source, as
 * vitest does, through `fixtures/runTs.cjs`.
 */
export const nodeFixtureArgs = (fixture: string, ...args: ReadonlyArray<string>): ReadonlyArray<string> => [
  path.join(fixtures, "runTs.cjs"),
  path.join(fixtures, fixture),
  ...args
]
