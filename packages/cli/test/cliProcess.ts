/**
 * The built `effect-socket` command as a child process.
 */
import * as Effect from "effect/Effect"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { spawn } from "./process.js"

/** The built executable. */
export const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../dist/bin.js")

/** Starts the built `effect-socket` with `args`. */
export const cli = (...args: ReadonlyArray<string>) => spawn(process.execPath, [BIN, ...args])

/** Starts the built `effect-socket` with `args` and `fds` as its fds 3, 4, …. */
export const cliWithFds = (fds: ReadonlyArray<number>, ...args: ReadonlyArray<string>) =>
  spawn(process.execPath, [BIN, ...args], { inheritFds: fds })

/** Runs the built `effect-socket` with `args` and `stdin`, and waits for it to exit. */
export const runCli = (args: ReadonlyArray<string>, stdin: Uint8Array | string = "") =>
  Effect.scoped(Effect.gen(function*() {
    const proc = yield* cli(...args)
    yield* proc.input(stdin, true)
    const exited = yield* proc.closed
    return { ...exited, stdout: proc.stdout(), stderr: proc.stderr() }
  }))

/**
 * Starts `effect-socket listen …` and waits for its `Listening on URI` line; returns the process
 * and the bound URI.
 */
export const listen = (...args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const proc = yield* cli("listen", ...args)
    const [, address] = yield* proc.waitForStderr(/Listening on (\S+)/)
    return { proc, address: address! }
  })
