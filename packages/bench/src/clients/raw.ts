import * as net from "node:net"
import { HOST } from "../protocol.js"
import type { ClientImpl, MeasureWindow } from "./client.js"
import { payload } from "./client.js"

const connect = (port: number) =>
  new Promise<net.Socket>((resolve, reject) => {
    const socket = net.connect({ host: HOST, port, noDelay: true })
    socket.once("error", reject)
    socket.once("connect", () => {
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

const connRateOne = (port: number, window: MeasureWindow, byte: Buffer) =>
  new Promise<void>((resolve, reject) => {
    const loop = () => {
      if (!window.running) return resolve()
      const startedAt = performance.now()
      const socket = net.connect({ host: HOST, port, noDelay: true })
      socket.on("error", reject)
      socket.on("connect", () => socket.write(byte))
      socket.on("data", () => socket.end())
      socket.on("close", () => {
        window.done(startedAt)
        loop()
      })
    }
    loop()
  })

/** Plain `node:net` clients, event-driven, as a Node programmer writes them. */
export const rawClient: ClientImpl = {
  bulk: async ({ bytes, chunk, port }) => {
    const data = payload(chunk)
    const startedAt = performance.now()
    const socket = await connect(port)
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
  connRate: async ({ concurrency, port, window }) => {
    const byte = payload(1)
    await Promise.all(Array.from({ length: concurrency }, () => connRateOne(port, window, byte)))
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
