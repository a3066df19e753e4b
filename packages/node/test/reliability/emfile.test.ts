/**
 * EMFILE while accepting: a server in a child process with `ulimit -n 64` under more clients
 * than it has descriptors for. No crash, typed errors for what fails in the meantime, no lost
 * bytes on the connections it holds, and it serves again once descriptors are free.
 *
 * On Node, libuv meets EMFILE in accept() with its reserved-descriptor trick: it closes a spare
 * descriptor, accepts the waiting connections and closes them at once, and tells Node nothing.
 * So the clients over the limit see their connection closed (they do not hang in the backlog),
 * and `errors` reports an `Accept` error only when that trick is not available.
 */
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Queue from "effect/Queue"
import * as Schedule from "effect/Schedule"
import * as crypto from "node:crypto"
import * as net from "node:net"
import { nodeFixtureArgs, spawn } from "../support/processes.js"
import { jsonLines, nextWith, TIMEOUT } from "./support.js"

const LIMIT = 64

interface Probe {
  readonly fds: number
  readonly connect: string
  readonly listen: string
}

/**
 * A raw client that connects, sends `data` and waits for it to come back whole: `"echoed"`, or
 * `"closed"` when the connection ends first. It stays open afterwards, until the scope closes.
 */
const exchange = (port: number, data: Buffer) =>
  Effect.acquireRelease(
    Effect.async<{ readonly socket: net.Socket; readonly outcome: "echoed" | "closed" }>((resume) => {
      const socket = net.connect({ host: "127.0.0.1", port }, () => socket.write(data))
      const received: Array<Buffer> = []
      let length = 0
      const onData = (chunk: Buffer) => {
        received.push(chunk)
        length += chunk.length
        if (length < data.length) return
        socket.off("data", onData)
        socket.off("close", onClose)
        assert.isTrue(Buffer.concat(received).equals(data), "echoed byte for byte")
        resume(Effect.succeed({ socket, outcome: "echoed" }))
      }
      const onClose = () => resume(Effect.succeed({ socket, outcome: "closed" }))
      socket.on("data", onData)
      socket.once("close", onClose)
      socket.on("error", () => {})
    }),
    ({ socket }) => Effect.sync(() => socket.destroy())
  )

describe("EMFILE while accepting", () => {
  it.live(`a server with ulimit -n ${LIMIT} goes on through EMFILE and serves again once descriptors are free`, () =>
    Effect.scoped(Effect.gen(function*() {
      const child = yield* spawn("bash", ["-c", `ulimit -n ${LIMIT}; exec "$0" "$@"`, process.execPath, ...nodeFixtureArgs("../reliability/fixtures/emfileServer.ts")])
      const lines = yield* jsonLines(child.stdout!)
      const unexpected: Array<unknown> = []
      const serverErrors: Array<{ readonly reason: string; readonly code: string }> = []
      const sort = (line: unknown) => {
        const error = (line as { serverError?: { reason: string; code: string } }).serverError
        if (error !== undefined) serverErrors.push(error)
        else unexpected.push(line)
      }
      const address = yield* nextWith<string>(lines, "address", sort)
      const port = Number(new URL(address).port)
      const probe = Effect.suspend(() => {
        child.stdin!.write("probe\n")
        return nextWith<Probe>(lines, "probe", sort)
      })

      // Clients one by one, each held open after its exchange, until one is turned away.
      const held: Array<net.Socket> = []
      let turnedAway = 0
      yield* Effect.scoped(Effect.gen(function*() {
        for (let i = 0; i < 2 * LIMIT && turnedAway < 3; i++) {
          const client = yield* exchange(port, Buffer.from(`client ${i}\n`))
          if (client.outcome === "echoed") held.push(client.socket)
          else turnedAway++
        }
        assert.strictEqual(turnedAway, 3, "clients over the limit have their connection closed")
        assert.isAbove(held.length, LIMIT / 2)

        // At the limit, what needs a descriptor fails with a typed error, and nothing crashes.
        const full = yield* probe
        assert.strictEqual(full.connect, "ConnectError EMFILE")
        assert.strictEqual(full.listen, "ListenError EMFILE")

        // The connections it holds lose nothing: each echoes 64 KiB of random bytes intact.
        yield* Effect.forEach(held, (socket) =>
          Effect.async<void>((resume) => {
            const data = crypto.randomBytes(64 * 1024)
            const received: Array<Buffer> = []
            let length = 0
            socket.on("data", (chunk: Buffer) => {
              received.push(chunk)
              length += chunk.length
              if (length === data.length) {
                assert.isTrue(Buffer.concat(received).equals(data))
                resume(Effect.void)
              }
            })
            socket.write(data)
          }), { concurrency: "unbounded", discard: true })
      }))

      // Descriptors are free again once the clients left: it accepts, connects and listens.
      const free = yield* probe.pipe(
        Effect.filterOrFail((p) => p.connect === "ok" && p.listen === "ok"),
        Effect.retry(Schedule.spaced("20 millis")),
        Effect.timeout("5 seconds")
      )
      assert.deepInclude(free, { connect: "ok", listen: "ok" })
      const again = yield* Effect.scoped(exchange(port, Buffer.from("after EMFILE\n")))
      assert.strictEqual(again.outcome, "echoed")

      for (const error of serverErrors) assert.deepInclude(error, { reason: "Accept", code: "EMFILE" })
      assert.deepStrictEqual(unexpected, [])
      assert.isTrue(yield* Queue.isEmpty(lines))
      assert.isNull(child.exitCode, "the server is still running")
    })), TIMEOUT)
})
