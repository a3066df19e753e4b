/**
 * The demo's Unix-domain socket check: an echo server on a socket file in a temporary
 * directory, 64 MiB through it, and the file gone once the server's scope has closed.
 */
import * as UnixConnector from "@effect-socket/node/UnixConnector"
import * as UnixServer from "@effect-socket/node/UnixServer"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { Check } from "./Check.js"
import { MiB, serveEcho, transfer } from "./echoTransfer.js"

/** A fresh directory (short path: socket paths are limited to 107 bytes), removed afterwards. */
const tempDir = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "effect-socket-demo-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

const unixEcho: Check = {
  name: "Unix echo",
  run: Effect.gen(function*() {
    const file = path.join(yield* tempDir, "echo.sock")
    const outcome = yield* Effect.scoped(Effect.gen(function*() {
      const server = yield* UnixServer.make(`unix://${file}`)
      yield* serveEcho(server)
      return yield* transfer(yield* UnixConnector.connect(server.address), 64 * MiB)
    }))
    if (fs.existsSync(file)) return yield* Effect.fail(new Error(`${file} is still there after the server closed`))
    return { ...outcome, result: `${outcome.result}, socket file removed on close` }
  })
}

export const unixChecks: ReadonlyArray<Check> = [unixEcho]
