/**
 * The built examples as child processes.
 */
import * as Effect from "effect/Effect"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { spawn } from "../../cli/test/process.js"

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../dist")

/** Starts `node dist/<name>.js args…`. */
export const example = (name: string, ...args: ReadonlyArray<string>) =>
  spawn(process.execPath, [path.join(dist, `${name}.js`), ...args])

/** Starts a server example on `127.0.0.1:0` and waits for its `Listening on URI` line (any case). */
export const server = (name: string, ...args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const proc = yield* example(name, "127.0.0.1:0", ...args)
    const [, address] = yield* proc.waitFor("stdout", /listening on (\S+?),?\s/i)
    return { proc, address: address! }
  })

/** Runs an example to the end with `stdin`; its exit code and output. */
export const run = (name: string, args: ReadonlyArray<string>, stdin: Uint8Array | string = "") =>
  Effect.scoped(Effect.gen(function*() {
    const proc = yield* example(name, ...args)
    yield* proc.input(stdin, true)
    const exited = yield* proc.closed
    return { ...exited, stdout: proc.stdout(), stderr: proc.stderr() }
  }))
