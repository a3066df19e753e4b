/**
 * Real peers that are not Node: `curl` against a small HTTP/1.1 responder written on
 * `TcpServer` (the spirit of ReactPHP's examples/03-http-server.php), and `TcpConnector`
 * talking RESP to a real `redis-server`. Also the TCP parts of ReactPHP's IntegrationTest,
 * on loopback: a plain HTTP exchange with a connector, read until the server closes.
 */
import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as TcpServer from "@effect-socket/node/TcpServer"
import type { Connection } from "@effect-socket/socket/Connection"
import * as Server from "@effect-socket/socket/Server"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { collectText } from "./fixtures/connections.js"
import { curl, redisServer } from "./fixtures/peers.js"

/** Reads until `done(bytes so far)`; fails if the stream ends first. */
const readUntil = (connection: Connection, done: (received: Buffer) => boolean) =>
  Effect.flatMap(
    Stream.runFoldWhile(connection.read, Buffer.alloc(0), (received) => !done(received), (received, chunk) =>
      Buffer.concat([received, chunk])),
    (received) => (done(received) ? Effect.succeed(received) : Effect.dieMessage(`stream ended after ${received.length} bytes`))
  )

const HEAD_END = Buffer.from("\r\n\r\n")

/**
 * An HTTP/1.1 responder as small as ReactPHP's example: reads the request head (and a body of
 * `Content-Length` bytes), answers 200 with `Connection: close`, then ends. A request with a
 * body gets the body back; one without gets a greeting naming the peer.
 */
const respond = (connection: Connection) =>
  Effect.gen(function*() {
    const head = yield* readUntil(connection, (received) => received.includes(HEAD_END))
    const headEnd = head.indexOf(HEAD_END) + HEAD_END.length
    const length = Number(/^content-length:\s*(\d+)/im.exec(head.subarray(0, headEnd).toString("latin1"))?.[1] ?? 0)
    const body = length > 0
      ? (yield* readUntil(connection, (more) => head.length - headEnd + more.length >= length).pipe(
        Effect.map((more) => Buffer.concat([head.subarray(headEnd), more]))
      ))
      : Buffer.from(`<html><h1>Hello ${Option.getOrElse(connection.remoteAddress, () => "?")}</h1></html>\r\n`)
    yield* connection.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`)
    yield* connection.write(body)
    yield* connection.end
  })

/** An HTTP server on `uri`, served until the test's scope closes; its `http://` base URL. */
const httpServer = (uri: string) =>
  Effect.gen(function*() {
    const server = yield* TcpServer.make(uri)
    yield* Effect.forkScoped(Server.serve(server, respond))
    return { server, url: server.address.replace(/^tcp:/, "http:") + "/" }
  })

/** A RESP array of bulk strings: the form every Redis command takes. */
const command = (...args: ReadonlyArray<string | Buffer>) =>
  Buffer.concat([
    Buffer.from(`*${args.length}\r\n`),
    ...args.flatMap((arg) => {
      const bytes = Buffer.from(arg)
      return [Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from("\r\n")]
    })
  ])

describe("real peers", () => {
  it.scoped("curl gets a page from an HTTP/1.1 responder on TcpServer", () =>
    Effect.gen(function*() {
      const { url } = yield* httpServer("127.0.0.1:0")
      const result = yield* curl("--include", url)
      assert.strictEqual(result.code, 0, result.stderr)
      assert.match(result.stdout, /^HTTP\/1\.1 200 OK\r\n/)
      assert.match(result.stdout, /\r\nContent-Length: \d+\r\n/)
      assert.match(result.stdout, /<html><h1>Hello tcp:\/\/127\.0\.0\.1:\d+<\/h1><\/html>\r\n$/)
    }))

  it.scoped("curl over IPv6", () =>
    Effect.gen(function*() {
      const { url } = yield* httpServer("[::1]:0")
      const result = yield* curl(url)
      assert.strictEqual(result.code, 0, result.stderr)
      assert.match(result.stdout, /^<html><h1>Hello tcp:\/\/\[::1\]:\d+<\/h1><\/html>/)
    }))

  it.scoped("curl posts 1 MiB of random bytes and gets them back unchanged", () =>
    Effect.gen(function*() {
      const { url } = yield* httpServer("127.0.0.1:0")
      const directory = yield* Effect.acquireRelease(
        Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "effect-socket-"))),
        (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
      )
      const payload = randomBytes(1024 * 1024)
      const upload = path.join(directory, "upload.bin")
      const download = path.join(directory, "download.bin")
      fs.writeFileSync(upload, payload)
      const result = yield* curl("--header", "Expect:", "--data-binary", `@${upload}`, "--output", download, url)
      assert.strictEqual(result.code, 0, result.stderr)
      assert.isTrue(fs.readFileSync(download).equals(payload))
    }))

  it.scoped("several curls at once, each served on its own connection", () =>
    Effect.gen(function*() {
      const { url } = yield* httpServer("127.0.0.1:0")
      const results = yield* Effect.all(Array.from({ length: 4 }, () => curl(url)), { concurrency: "unbounded" })
      const peers = new Set(results.map((result) => {
        assert.strictEqual(result.code, 0, result.stderr)
        return result.stdout
      }))
      // Every page names a different client port.
      assert.strictEqual(peers.size, 4)
    }))

  it.scoped("TcpConnector sends a plain HTTP request and reads the response until the server closes", () =>
    Effect.gen(function*() {
      const { server } = yield* httpServer("127.0.0.1:0")
      const connection = yield* TcpConnector.connect(server.address)
      yield* connection.write("GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
      const response = yield* collectText(connection.read)
      assert.match(response, /^HTTP\/1\.1 200 OK\r\n/)
      assert.include(response, `Hello ${Option.getOrThrow(connection.localAddress)}`)
    }))

  it.scoped("TcpConnector talks to redis-server: PING gets +PONG", () =>
    Effect.gen(function*() {
      const address = yield* redisServer
      const connection = yield* TcpConnector.connect(address)
      yield* connection.write(command("PING"))
      const reply = yield* readUntil(connection, (received) => received.includes("\r\n"))
      assert.strictEqual(reply.toString(), "+PONG\r\n")
    }))

  it.scoped("redis-server stores and echoes binary values; QUIT ends the connection", () =>
    Effect.gen(function*() {
      const address = yield* redisServer
      const connection = yield* TcpConnector.connect(address)
      const value = randomBytes(256 * 1024)
      yield* connection.write(command("SET", "key", value))
      assert.strictEqual((yield* readUntil(connection, (r) => r.includes("\r\n"))).toString(), "+OK\r\n")

      yield* connection.write(command("GET", "key"))
      const header = Buffer.from(`$${value.length}\r\n`)
      const expected = Buffer.concat([header, value, Buffer.from("\r\n")])
      const reply = yield* readUntil(connection, (r) => r.length >= expected.length)
      assert.isTrue(reply.equals(expected))

      yield* connection.write(command("QUIT"))
      assert.strictEqual(yield* collectText(connection.read), "+OK\r\n")
    }))
})
