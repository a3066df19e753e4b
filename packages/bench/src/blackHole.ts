/**
 * A loopback address that drops SYNs, as a black-holed IPv6 path does, for the Happy Eyeballs
 * workload: a listener on [::1]:port whose accept queue is full. Node accepts whatever arrives,
 * so the listener lives in a child process that blocks its event loop once it listens
 * (backlog 1); filler connections fill its queue and the kernel drops every later SYN.
 */
import * as childProcess from "node:child_process"
import * as net from "node:net"

const HOLDER = `
const net = require("node:net")
const server = net.createServer()
server.once("error", (error) => { process.stdout.write("error " + error.code + "\\n"); process.exit(1) })
server.listen({ host: process.argv[1], port: Number(process.argv[2]), backlog: 1, ipv6Only: true }, () => {
  process.stdout.write("listening\\n", () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0))
})
`

export interface BlackHole {
  readonly close: () => Promise<void>
}

/** Connects, resolving `true` once connected or `false` if still pending after `waitMs`. */
const fill = (host: string, port: number, waitMs: number) =>
  new Promise<{ socket: net.Socket; connected: boolean }>((resolve) => {
    const socket = net.connect({ host, port })
    socket.on("error", () => {})
    const timer = setTimeout(() => resolve({ socket, connected: false }), waitMs)
    socket.once("connect", () => {
      clearTimeout(timer)
      resolve({ socket, connected: true })
    })
  })

/** Makes `[::1]:port` drop SYNs until `close`. */
export const make = async (port: number): Promise<BlackHole> => {
  const host = "::1"
  const child = childProcess.spawn(process.execPath, ["-e", HOLDER, host, String(port)], { stdio: ["ignore", "pipe", "inherit"] })
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()))
  const first = await new Promise<string>((resolve) => child.stdout.once("data", (data: Buffer) => resolve(String(data).trim())))
  const fillers: Array<net.Socket> = []
  const close = async () => {
    for (const socket of fillers) socket.destroy()
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
    await exited
  }
  if (first !== "listening") {
    await close()
    throw new Error(`no black hole on [${host}]:${port}: ${first}`)
  }
  // Linux queues backlog + 1 connections; stop once one stays pending (300 ms, so that a slow
  // handshake on a busy machine is not taken for a full queue).
  for (let connected = 0; fillers.length < 16;) {
    const { connected: ok, socket } = await fill(host, port, connected >= 2 ? 300 : 2_000)
    fillers.push(socket)
    if (!ok) return { close }
    connected++
  }
  await close()
  throw new Error(`[${host}]:${port} kept accepting: cannot make a black hole`)
}
