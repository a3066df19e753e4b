import * as net from "node:net"
import * as tls from "node:tls"
import { EYEBALLS_HOST, HOST } from "../protocol.js"
import type { TlsTrust } from "../protocol.js"
import type { ClientImpl, MeasureWindow } from "./client.js"
import { eyeballsLookup, payload } from "./client.js"

/** A new socket to `port`, plain or TLS 1.3, and the event that says it is ready for data. */
const open = (port: number, trust: TlsTrust | undefined): { socket: net.Socket; ready: string } =>
  trust === undefined
    ? { socket: net.connect({ host: HOST, port, noDelay: true }), ready: "connect" }
    : {
      // node:tls takes no noDelay: set on the TCP socket under it.
      socket: tls.connect({ host: HOST, port, ca: trust.ca, minVersion: "TLSv1.3" }).setNoDelay(true),
      ready: "secureConnect"
    }

const connect = (port: number, trust?: TlsTrust) =>
  new Promise<net.Socket>((resolve, reject) => {
    const { ready, socket } = open(port, trust)
    socket.once("error", reject)
    socket.once(ready, () => {
      socket.off("error", reject)
      resolve(socket)
    })
  })

const closed = (socket: net.Socket) => new Promise<void>((resolve) => socket.once("close", () => resolve()))

const pingPongOne = async (port: number, message: Buffer, window: MeasureWindow) => {
  const socket = await connect(port)
  const done = closed(socket)
  let received = 0
  let sentAt = 0
  const send = () => {
    sentAt = performance.now()
    socket.write(message)
  }
  socket.on("data", (data) => {
    received += data.length
    if (received < message.length) return
    received -= message.length
    window.done(sentAt)
    if (window.running) send()
    else socket.end()
  })
  send()
  await done
}

const connRateOne = (port: number, window: MeasureWindow, byte: Buffer, trust: TlsTrust | undefined) =>
  new Promise<void>((resolve, reject) => {
    const loop = () => {
      if (!window.running) return resolve()
      const startedAt = performance.now()
      const { ready, socket } = open(port, trust)
      socket.on("error", reject)
      socket.on(ready, () => socket.write(byte))
      socket.on("data", () => socket.end())
      socket.on("close", () => {
        window.done(startedAt)
        loop()
      })
    }
    loop()
  })

const eyeballsOnce = (port: number) =>
  new Promise<number>((resolve, reject) => {
    const startedAt = performance.now()
    const socket = net.connect({ host: EYEBALLS_HOST, port, autoSelectFamily: true, lookup: eyeballsLookup })
    socket.once("error", reject)
    socket.once("connect", () => {
      const elapsed = performance.now() - startedAt
      socket.once("close", () => resolve(elapsed))
      socket.destroy()
    })
  })

/** Plain `node:net` / `node:tls` clients, event-driven, as a Node programmer writes them. */
export const rawClient: ClientImpl = {
  bulk: async ({ bytes, chunk, port, tls: trust }) => {
    const data = payload(chunk)
    const startedAt = performance.now()
    const socket = await connect(port, trust)
    const done = closed(socket)
    socket.resume()
    let sent = 0
    const pump = () => {
      while (sent < bytes) {
        sent += data.length
        if (!socket.write(data)) return socket.once("drain", pump)
      }
      socket.end()
    }
    pump()
    await done
    return { elapsedMs: performance.now() - startedAt }
  },
  pingPong: async ({ connections, port, size, window }) => {
    const message = payload(size)
    await Promise.all(Array.from({ length: connections }, () => pingPongOne(port, message, window)))
  },
  connRate: async ({ concurrency, port, tls: trust, window }) => {
    const byte = payload(1)
    await Promise.all(Array.from({ length: concurrency }, () => connRateOne(port, window, byte, trust)))
  },
  eyeballs: async (port, attempts) => {
    const connectMs: Array<number> = []
    for (let i = 0; i < attempts; i++) connectMs.push(await eyeballsOnce(port))
    return { connectMs }
  }
}

/** Idle connections for the memory workload: opened with bounded concurrency, then held. */
export const openIdle = async (port: number, count: number, concurrency: number): Promise<Array<net.Socket>> => {
  const sockets: Array<net.Socket> = []
  let next = 0
  const worker = async () => {
    while (next < count) {
      next++
      const socket = await connect(port)
      socket.on("error", () => {})
      sockets.push(socket)
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker))
  return sockets
}
