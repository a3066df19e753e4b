/**
 * A benchmark worker process: `node worker.js <server|client> <impl>`, forked by `main.ts`.
 * It answers the orchestrator's requests (see `protocol.ts`) until the IPC channel closes.
 */
import type * as net from "node:net"
import { effectSocketClient } from "./clients/effectSocket.js"
import { MeasureWindow } from "./clients/client.js"
import type { ClientImpl } from "./clients/client.js"
import { platformClient } from "./clients/platform.js"
import { openIdle, rawClient } from "./clients/raw.js"
import type { Envelope, Impl, Reply, Request, Role, Usage } from "./protocol.js"
import { effectSocketServer } from "./servers/effectSocket.js"
import { platformServer } from "./servers/platform.js"
import { rawServer } from "./servers/raw.js"
import type { RunningServer, ServerImpl } from "./servers/server.js"

const [role, impl] = process.argv.slice(2) as [Role, Impl]
process.title = `bench-${role}-${impl}`

const servers: Record<Impl, ServerImpl> = { raw: rawServer, platform: platformServer, "effect-socket": effectSocketServer }
const clients: Record<Impl, ClientImpl> = { raw: rawClient, platform: platformClient, "effect-socket": effectSocketClient }

const listening = new Map<number, RunningServer>()
let idle: Array<net.Socket> = []

const usage = (gc: boolean): Usage => {
  if (gc) {
    if (globalThis.gc === undefined) throw new Error("usage with gc needs --expose-gc")
    // Twice: the first pass may leave objects that only a second one finds unreachable.
    globalThis.gc()
    globalThis.gc()
  }
  const memory = process.memoryUsage()
  return { cpu: process.cpuUsage(), rss: memory.rss, heapUsed: memory.heapUsed, external: memory.external }
}

const handle = async (request: Request): Promise<unknown> => {
  switch (request.op) {
    case "listen": {
      const server = await servers[impl].listen(request.kind, request.tls)
      listening.set(server.port, server)
      return server.port
    }
    case "close": {
      await listening.get(request.port)?.close()
      listening.delete(request.port)
      return null
    }
    case "usage":
      return usage(request.gc ?? false)
    case "accepted":
      return servers[impl].accepted()
    case "bulk":
      return clients[impl].bulk(request)
    case "pingpong": {
      const window = new MeasureWindow(request.warmupMs, request.durationMs)
      await clients[impl].pingPong({ ...request, window })
      return window.pingPongResult()
    }
    case "connrate": {
      const window = new MeasureWindow(request.warmupMs, request.durationMs)
      await clients[impl].connRate({ ...request, window })
      return window.connRateResult()
    }
    case "eyeballs":
      return clients[impl].eyeballs(request.port, request.attempts)
    case "idleOpen":
      idle = await openIdle(request.port, request.count, request.concurrency)
      return idle.length
    case "idleClose": {
      await Promise.all(idle.map((socket) => new Promise((resolve) => socket.once("close", resolve).destroy())))
      idle = []
      return null
    }
  }
}

const send = (reply: Reply) => process.send!(reply)

process.on("message", (message: Envelope) => {
  handle(message).then(
    (result) => send({ id: message.id, ok: true, result: result ?? null }),
    (error: unknown) =>
      send({ id: message.id, ok: false, error: error instanceof Error ? error.stack ?? error.message : String(error) })
  )
})
// Exit when the orchestrator goes away (normally, or killed), so no worker outlives a run.
process.on("disconnect", () => process.exit(0))
