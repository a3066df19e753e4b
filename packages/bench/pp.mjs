// node pp.mjs <server> [connections] [trips]: in-process ping-pong, node:net client, CPU µs per round trip
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as Scope from "effect/Scope"
import * as net from "node:net"
import * as TcpServer from "@effect-socket/node/TcpServer"
import * as Server from "@effect-socket/socket/Server"

const handlers = {
  sink: (c) => Stream.run(c.read, c.sink),
  forEach: (c) => Stream.runForEach(c.read, (d) => c.write(d)),
  direct: (c) => Effect.forever(Effect.flatMap(c.pull, (chunk) => c.writeChunk(chunk))),
  pull: (c) => Effect.scoped(Effect.flatMap(Stream.toPull(c.read), (p) => Effect.forever(Effect.flatMap(p, (chunk) => Effect.forEach(chunk, (d) => c.write(d), { discard: true }))))),
}
const [name, conns = "50", trips = "200000"] = process.argv.slice(2)
let port
if (name === "raw") {
  const server = net.createServer({ noDelay: true }, (s) => { s.on("error", () => {}); s.on("data", (d) => s.write(d)) })
  await new Promise((r) => server.listen(0, "127.0.0.1", r))
  port = server.address().port
} else {
  const scope = Effect.runSync(Scope.make())
  const server = await Effect.runPromise(Scope.extend(TcpServer.make("127.0.0.1:0"), scope))
  Effect.runFork(Server.serve(server, handlers[name]))
  port = Number(server.address.split(":").pop())
}
const msg = Buffer.alloc(64, 120)
const run = (total) => new Promise((resolve) => {
  let left = total, open = Number(conns)
  for (let i = 0; i < Number(conns); i++) {
    const s = net.connect({ port, host: "127.0.0.1", noDelay: true })
    let got = 0
    s.on("connect", () => s.write(msg))
    s.on("data", (d) => {
      got += d.length
      if (got < 64) return
      got -= 64
      if (--left > 0) s.write(msg)
      else s.end()
    })
    s.on("close", () => { if (--open === 0) resolve() })
  }
})
await run(20000)
const c0 = process.cpuUsage(), t0 = performance.now()
await run(Number(trips))
const c = process.cpuUsage(c0), t = performance.now() - t0
console.log(name.padEnd(8), "cpu µs/trip", ((c.user + c.system) / Number(trips)).toFixed(2), "user", (c.user / Number(trips)).toFixed(2), "trips/s", Math.round(Number(trips) / t * 1000))
process.exit(0)
