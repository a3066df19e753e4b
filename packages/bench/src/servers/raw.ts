import * as net from "node:net"
import * as tls from "node:tls"
import { HOST } from "../protocol.js"
import type { ServerKind, TlsMaterial } from "../protocol.js"
import type { RunningServer, ServerImpl } from "./server.js"

let accepted = 0

const ignore = () => {}

const handlers: Record<ServerKind, (socket: net.Socket) => void> = {
  discard: (socket) => {
    socket.on("data", ignore)
  },
  echo: (socket) => {
    socket.on("data", (data) => socket.write(data))
  }
}

const create = (material: TlsMaterial | undefined, onSocket: (socket: net.Socket) => void): net.Server =>
  material === undefined
    ? net.createServer({ noDelay: true }, onSocket)
    : tls.createServer({ ...material, minVersion: "TLSv1.3", noDelay: true }, onSocket)

/**
 * Plain `node:net` (`node:tls` with TLS): a connection listener, flowing `data` events,
 * `allowHalfOpen` off.
 */
export const rawServer: ServerImpl = {
  accepted: () => accepted,
  listen: (kind, material) =>
    new Promise<RunningServer>((resolve, reject) => {
      // Tracked so that `close` never waits on a straggler; shared listeners keep the per-socket
      // cost to what the handler itself needs.
      const open = new Set<net.Socket>()
      const forget = function(this: net.Socket) {
        open.delete(this)
      }
      const handler = handlers[kind]
      const server = create(material, (socket) => {
        accepted++
        open.add(socket)
        socket.on("close", forget)
        socket.on("error", ignore)
        handler(socket)
      })
      server.once("error", reject)
      server.listen({ host: HOST, port: 0, backlog: 511 }, () => {
        resolve({
          port: (server.address() as net.AddressInfo).port,
          close: () =>
            new Promise<void>((done) => {
              server.close(() => done())
              for (const socket of open) socket.destroy()
            })
        })
      })
    })
}
