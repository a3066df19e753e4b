/**
 * Streams a payload through an echo server and compares SHA-256 digests of what was sent and
 * what came back: the demo's proof that no byte is lost, reordered or changed.
 */
import type { Connection } from "@effect-socket/socket/Connection"
import * as Server from "@effect-socket/socket/Server"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import type { Outcome } from "./Check.js"

export const MiB = 1024 * 1024

/** An echo handler: everything read is written back; the peer's FIN is passed on. */
export const echo = (connection: Connection) => Stream.run(connection.read, connection.sink)

/** Serves `server` with the echo handler for as long as the enclosing scope lives. */
export const serveEcho = (server: Server.Server) => Effect.forkScoped(Server.serve(server, echo))

/**
 * Writes `totalBytes` of random data in 64 KiB chunks to `connection` while reading the echo,
 * then checks the digests. Fails when they differ.
 */
export const transfer = (connection: Connection, totalBytes: number): Effect.Effect<Outcome, unknown> =>
  Effect.gen(function*() {
    const block = crypto.randomBytes(1024 * 1024)
    const sent = crypto.createHash("sha256")
    const received = crypto.createHash("sha256")
    const chunkSize = 64 * 1024
    const writer = Effect.gen(function*() {
      for (let offset = 0; offset < totalBytes; offset += chunkSize) {
        // Vary the data per block so that a misplaced chunk changes the digest.
        const start = (offset * 7) % (block.length - chunkSize)
        const chunk = block.subarray(start, start + Math.min(chunkSize, totalBytes - offset))
        sent.update(chunk)
        yield* connection.write(chunk)
      }
      yield* connection.end
    })
    const start = performance.now()
    const [, receivedBytes] = yield* Effect.all([
      writer,
      Stream.runFold(connection.read, 0, (n, chunk) => {
        received.update(chunk)
        return n + chunk.length
      })
    ], { concurrency: 2 })
    const seconds = (performance.now() - start) / 1000
    const ok = receivedBytes === totalBytes && sent.digest("hex") === received.digest("hex")
    if (!ok) return yield* Effect.fail(new Error(`echo mismatch: sent ${totalBytes} bytes, received ${receivedBytes}, digests differ`))
    return {
      result: `${(totalBytes / MiB).toFixed(1)} MiB echoed, sha256 match`,
      speed: `${((2 * totalBytes) / 1e6 / seconds).toFixed(1)} MB/s`
    }
  })
