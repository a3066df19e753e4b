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

/** Starts `node dist/<name>.js args…` with `env` added to the environment. */
export const exampleWithEnv = (env: Readonly<Record<string, string>>, name: string, ...args: ReadonlyArray<string>) =>
  spawn(process.execPath, [path.join(dist, `${name}.js`), ...args], { env })

/** Starts a server example on `uri` and waits for its `Listening on URI` line (any case). */
export const serverAt = (name: string, uri: string, ...args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const proc = yield* example(name, uri, ...args)
    const [, address] = yield* proc.waitFor("stdout", /listening on (\S+?),?\s/i)
    return { proc, address: address! }
  })

/** {@link serverAt} `127.0.0.1:0`. */
export const server = (name: string, ...args: ReadonlyArray<string>) => serverAt(name, "127.0.0.1:0", ...args)

/** Runs an example to the end with `stdin` (and `env` added); its exit code and output. */
export const run = (
  name: string,
  args: ReadonlyArray<string>,
  stdin: Uint8Array | string = "",
  env: Readonly<Record<string, string>> = {}
) =>
  Effect.scoped(Effect.gen(function*() {
    const proc = yield* exampleWithEnv(env, name, ...args)
    yield* proc.input(stdin, true)
    const exited = yield* proc.closed
    return { ...exited, stdout: proc.stdout(), stderr: proc.stderr() }
  }))
