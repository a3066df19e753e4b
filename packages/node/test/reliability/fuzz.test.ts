/**
 * Bad input: every URI and option of the TCP, Unix and fd servers and connectors, fuzzed with
 * fast-check (see fuzzing.ts for the rules each input is held to). Inputs that would be valid but
 * reach beyond this test (a fixed port, a non-loopback address, a path outside its temporary
 * directory, a file descriptor it does not own) are only parsed, never opened.
 */
import * as FdServer from "@effect-socket/node/FdServer"
import * as SocketServer from "@effect-socket/node/SocketServer"
import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as TcpServer from "@effect-socket/node/TcpServer"
import * as UnixConnector from "@effect-socket/node/UnixConnector"
import * as UnixServer from "@effect-socket/node/UnixServer"
import * as SocketUri from "@effect-socket/socket/SocketUri"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as fc from "fast-check"
import * as fs from "node:fs"
import * as path from "node:path"
import { tempDir } from "../support/processes.js"
import {
  assertVaried,
  booleanOption,
  count,
  fdServerOptions,
  hostPortUri,
  millisOption,
  numberOption,
  oddNumbers,
  optionSets,
  property,
  RUNS,
  tails,
  tally,
  tcpListenIsSafe,
  tcpServerOptions,
  text,
  tryInput,
  unixServerOptions,
  watchSocketHandles
} from "./fuzzing.js"
import { TIMEOUT } from "./support.js"

watchSocketHandles()

// ---- What may be opened ----

/** A Unix path that stays in the working directory (a temporary one) or is abstract. */
const unixPathIsSafe = (uri: string) => {
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(uri)
  // Another scheme is refused before any I/O.
  if (scheme !== null && scheme[1]!.toLowerCase() !== "unix") return true
  const rest = scheme === null ? uri : uri.slice(scheme[0].length)
  if (rest.startsWith("@")) return true
  return !rest.startsWith("/") && !rest.split("/").includes("..")
}

/** Unix URIs: relative names, abstract names, long, empty, with NUL, and random text. */
const unixUri = fc.oneof(
  fc.tuple(
    fc.constantFrom("", "unix://", "UNIX://", "unix:", "unix:///", "tcp://", "unix://@", "@"),
    fc.oneof(
      fc.stringMatching(/^[a-z0-9._-]{0,20}$/),
      fc.constantFrom("..", "../x", "a/b", "x\0y", "x".repeat(107), "x".repeat(108), "é".repeat(60), " ", "/", "%2F", "?q", "#f"),
      text
    )
  ).map(([scheme, name]) => scheme + name),
  text
)

/** An fd number this process does not have open, or that is a regular file it owns. */
const fdIsSafe = (fd: number, own: number) => {
  if (fd === own) return true
  try {
    fs.fstatSync(fd)
    return false
  } catch {
    return true
  }
}

describe("bad input", () => {
  it.live(`TcpServer.make: ${RUNS} URIs and option sets`, () =>
    Effect.gen(function*() {
      const counts = tally()
      yield* property(fc.tuple(fc.oneof(hostPortUri, oddNumbers), tcpServerOptions), async ([uri, options]) => {
        if (!tcpListenIsSafe(uri)) return
        await tryInput(TcpServer.make(uri, options as TcpServer.Options), "ListenError", [uri, options], counts)
      })
      assertVaried(counts)
    }), TIMEOUT)

  it.live(`TcpConnector.connect: ${RUNS} URIs and option sets`, () =>
    Effect.scoped(Effect.gen(function*() {
      const server = yield* TcpServer.make(0)
      // A port nobody listens on: connecting to it is refused.
      const closed = yield* Effect.scoped(Effect.map(TcpServer.make(0), (s) => s.address.slice("tcp://".length)))
      const ours = [server.address.slice("tcp://".length), closed]
      const target = fc.oneof(
        { weight: 1, arbitrary: fc.tuple(fc.constantFrom("", "tcp://", "TCP://"), fc.constantFrom(...ours), tails).map((parts) => parts.join("")) },
        { weight: 2, arbitrary: hostPortUri }
      )
      const options = optionSets({
        localAddress: fc.constantFrom("127.0.0.1", "127.0.0.2", "0.0.0.0", "1.2.3.4"),
        localPort: fc.constant(0),
        noDelay: fc.boolean(),
        keepAlive: fc.oneof(fc.constant(false), count),
        readHighWaterMark: count
      }, {
        localAddress: fc.oneof(fc.constantFrom("127.0.0.1", "::1", "0.0.0.0", "1.2.3.4", "localhost", "", "::ffff:127.0.0.1"), text, fc.anything()),
        localPort: fc.oneof(fc.constant(0), oddNumbers, fc.anything()),
        noDelay: booleanOption,
        keepAlive: millisOption,
        readHighWaterMark: numberOption
      })
      const counts = tally()
      yield* property(fc.tuple(target, options), async ([uri, options]) => {
        const parsed = Effect.runSync(Effect.either(Effect.flatMap(SocketUri.parseClient(uri), (u) => SocketUri.requireIp(u, uri))))
        // Valid targets other than our own server are not dialled; nor is a fixed local port.
        const valid = Either.isRight(parsed) && parsed.right.scheme === "tcp"
        const isOurs = valid && ours.includes(SocketUri.formatHostPort(parsed.right.host, parsed.right.port))
        const { localPort } = options as { localPort?: unknown }
        const fixedLocalPort = typeof localPort === "number" && Number.isInteger(localPort) && localPort > 0 && localPort < 65536
        if (valid && (!isOurs || fixedLocalPort)) return
        await tryInput(TcpConnector.connect(uri, options as TcpConnector.Options), "ConnectError", [uri, options], counts)
      })
      assertVaried(counts, ["succeeded", "refused", "failed"])
    })), TIMEOUT)

  it.live(`UnixServer.make and UnixConnector.connect: ${RUNS} URIs and option sets each, in a temporary directory`, () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const cwd = process.cwd()
      yield* Effect.acquireRelease(Effect.sync(() => process.chdir(dir)), () => Effect.sync(() => process.chdir(cwd)))
      const listening = yield* UnixServer.make("unix://listening.sock")
      const servers = tally()
      yield* property(fc.tuple(unixUri, unixServerOptions), async ([uri, options]) => {
        if (!unixPathIsSafe(uri)) return
        await tryInput(UnixServer.make(uri, options as UnixServer.Options), "ListenError", [uri, options], servers)
      })
      assertVaried(servers)
      const connectorOptions = optionSets({ readHighWaterMark: count }, { readHighWaterMark: numberOption })
      const connectors = tally()
      yield* property(fc.tuple(fc.oneof(unixUri, fc.constant(listening.address)), connectorOptions), async ([uri, options]) => {
        if (!unixPathIsSafe(uri)) return
        await tryInput(UnixConnector.connect(uri, options as UnixConnector.Options), "ConnectError", [uri, options], connectors)
      })
      assertVaried(connectors, ["succeeded", "refused", "failed"])
      // Whatever was tried, nothing but the listening socket was left behind.
      assert.deepStrictEqual(fs.readdirSync(dir), ["listening.sock"])
    })), TIMEOUT)

  it.live(`FdServer.make: ${RUNS} URIs and option sets`, () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const file = yield* Effect.acquireRelease(
        Effect.sync(() => fs.openSync(path.join(dir, "not-a-socket"), "w")),
        (fd) => Effect.sync(() => fs.closeSync(fd))
      )
      const uri = fc.oneof(
        fc.constant(file),
        fc.constant(`fd://${file}`),
        fc.integer({ min: 1_000, max: 100_000 }).map((n) => `fd://${n}`),
        oddNumbers,
        fc.tuple(fc.constantFrom("fd://", "FD://", "fd:/", "fd://-", "fd://+", "fd:// ", "", "unix://"), fc.oneof(fc.nat().map(String), text)).map((p) => p.join("")),
        text
      )
      const counts = tally()
      yield* property(fc.tuple(uri, fdServerOptions), async ([uri, options]) => {
        const fd = FdServer.parseUri(uri)
        if (Either.isRight(fd) && !fdIsSafe(fd.right, file)) return
        const error = await tryInput(FdServer.make(uri, options as FdServer.Options), "ListenError", [uri, options], counts)
        if (Either.isRight(fd) && fd.right === file) assert.include(["ENOTSOCK", "EINVAL"], error?.code)
      })
      assertVaried(counts, ["refused", "failed"])
      // The file descriptor given to a failed FdServer.make is still this test's.
      assert.isTrue(fs.fstatSync(file).isFile())
    })), TIMEOUT)

  it.live(`SocketServer.make: ${RUNS} URIs and option groups`, () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = yield* tempDir
      const cwd = process.cwd()
      yield* Effect.acquireRelease(Effect.sync(() => process.chdir(dir)), () => Effect.sync(() => process.chdir(cwd)))
      const uri = fc.oneof(hostPortUri, unixUri, fc.nat(100_000).map((n) => `fd://${n + 1_000}`), text)
      const groups = fc.record({ tcp: tcpServerOptions, unix: unixServerOptions, fd: fdServerOptions }, { requiredKeys: [] })
      const counts = tally()
      yield* property(fc.tuple(uri, groups), async ([uri, options]) => {
        const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(uri)?.[1]?.toLowerCase() ?? "tcp"
        if (scheme === "tcp" && !tcpListenIsSafe(uri)) return
        if (scheme === "unix" && !unixPathIsSafe(uri)) return
        if (scheme === "fd") {
          const fd = FdServer.parseUri(uri)
          if (Either.isRight(fd) && !fdIsSafe(fd.right, -1)) return
        }
        await tryInput(SocketServer.make(uri, options as SocketServer.Options), "ListenError", [uri, options], counts)
      })
      assertVaried(counts)
    })), TIMEOUT)
})
