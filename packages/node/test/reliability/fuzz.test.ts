/**
 * Bad input: every URI and option of the servers and connectors, fuzzed with fast-check. Nothing
 * throws or dies; every failure is the module's typed error; and input refused as invalid
 * (`EINVAL` before any I/O) opens no socket. Inputs that would be valid but reach beyond this
 * test (a fixed port, a non-loopback address, a path outside its temporary directory, a file
 * descriptor it does not own) are only parsed, never opened.
 */
import * as FdServer from "@effect-socket/node/FdServer"
import * as SocketServer from "@effect-socket/node/SocketServer"
import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as TcpServer from "@effect-socket/node/TcpServer"
import * as UnixConnector from "@effect-socket/node/UnixConnector"
import * as UnixServer from "@effect-socket/node/UnixServer"
import { ConnectError, ListenError } from "@effect-socket/socket/SocketError"
import * as SocketUri from "@effect-socket/socket/SocketUri"
import { afterAll, assert, beforeAll, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as fc from "fast-check"
import { createHook } from "node:async_hooks"
import * as fs from "node:fs"
import * as path from "node:path"
import { tempDir } from "../support/processes.js"
import { SEED, size, TIMEOUT } from "./support.js"

const RUNS = size(300, 5_000)

// Every socket handle Node creates while an input is tried.
const socketHandles = new Set(["TCPWRAP", "TCPSERVERWRAP", "PIPEWRAP", "PIPESERVERWRAP"])
let handlesCreated = 0
const hook = createHook({
  init(_id, type) {
    if (socketHandles.has(type)) handlesCreated++
  }
})
beforeAll(() => void hook.enable())
afterAll(() => void hook.disable())

type ErrorClass = typeof ListenError | typeof ConnectError

/** Whether a failure is the refusal of bad input, which must come before any I/O. */
const isBadInput = (error: ListenError | ConnectError) =>
  error.code === "EINVAL" && (error.reason === "InvalidUri" || (error.detail ?? "").startsWith("Invalid option"))

/** How the inputs of one property fared, so that a test can tell it tried all kinds. */
interface Tally {
  succeeded: number
  refused: number
  failed: number
}

const tally = (): Tally => ({ succeeded: 0, refused: 0, failed: 0 })

/** Every kind of outcome happened: some inputs worked, some were refused as bad input, and so on. */
const assertVaried = (counts: Tally, kinds: ReadonlyArray<keyof Tally> = ["succeeded", "refused"]) => {
  for (const kind of kinds) assert.isAbove(counts[kind], 0, `${kind} (${JSON.stringify(counts)}, seed ${SEED})`)
}

/**
 * Tries `effect` (its scope closed at once) and asserts the rules: no defect, a failure is an
 * `errorClass`, and bad input opened no socket. Counts the outcome and returns the error, if any.
 */
const tryInput = <E extends ListenError | ConnectError>(
  effect: Effect.Effect<unknown, E, Scope.Scope>,
  errorClass: ErrorClass,
  input: unknown,
  counts: Tally
): Promise<E | undefined> =>
  Effect.runPromise(Effect.gen(function*() {
    const before = handlesCreated
    const exit = yield* Effect.exit(Effect.scoped(effect))
    const created = handlesCreated - before
    const shown = JSON.stringify(input, (_key, value) => (typeof value === "number" && !Number.isFinite(value) ? String(value) : value))
    if (Exit.isSuccess(exit)) {
      counts.succeeded++
      return undefined
    }
    assert.deepStrictEqual(Cause.defects(exit.cause).pipe((defects) => [...defects].map(String)), [], `died on ${shown}`)
    const error = Cause.failureOption(exit.cause)
    assert.isTrue(Option.isSome(error), `no typed error for ${shown}: ${Cause.pretty(exit.cause)}`)
    const value = (error as Option.Some<E>).value
    assert.isTrue(value instanceof errorClass, `${shown} failed with ${String(value)}`)
    assert.isString(value.message)
    if (isBadInput(value)) {
      counts.refused++
      assert.strictEqual(created, 0, `bad input ${shown} opened a socket: ${value.message}`)
    } else {
      counts.failed++
    }
    return value
  }))

const property = <T>(arbitrary: fc.Arbitrary<T>, check: (input: T) => Promise<void>) =>
  Effect.promise(() => fc.assert(fc.asyncProperty(arbitrary, check), { numRuns: RUNS, seed: SEED, endOnFailure: true }))

// ---- Arbitraries ----

const text = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.string({ unit: "grapheme", maxLength: 10 })
)

const schemes = fc.constantFrom("", "tcp://", "TCP://", "tls://", "unix://", "udp://", "http://", "fd://", "tcp:", "tcp:/", "://", "tcp:///")
const hosts = fc.oneof(
  fc.constantFrom(
    "127.0.0.1", "[::1]", "::1", "localhost", "example.com", "0.0.0.0", "[::]", "256.0.0.1", "127.1", "[fe80::1%lo]",
    "[::1%25lo]", "1.2.3.4", "", "[", "]", "[::1", "user@127.0.0.1", "127.0.0.1.", " 127.0.0.1", "[127.0.0.1]", "::ffff:127.0.0.1",
    "[::ffff:127.0.0.1]", "%41", "a..b", "-a", "xn--"
  ),
  text
)
const ports = fc.oneof(
  fc.constantFrom("", ":", ":0", ":00", ":-1", ":65536", ":99999999999", ":0x10", ":1e3", ": 0", ":+0", ":abc", "::0", ":0:0"),
  fc.nat(70_000).map((n) => `:${n}`),
  text.map((t) => `:${t}`)
)
const tails = fc.oneof(fc.constantFrom("", "/", "/path", "?", "?hostname=x", "?a=1&a=2", "#frag", "/?#", "?%zz"), text)

/** Host/port URIs: structured ones, mostly near-valid, and random text. */
const hostPortUri = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(schemes, hosts, ports, tails).map((parts) => parts.join("")) },
  { weight: 1, arbitrary: text }
)

const oddNumbers = fc.oneof(
  fc.integer({ min: -10, max: 70_000 }),
  fc.double(),
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, 1.5, 2 ** 31, 2 ** 53, -1)
)

/** Values for a numeric option: sensible ones, odd numbers, and (as untyped callers pass) anything. */
const numberOption = fc.oneof(fc.constant(undefined), fc.nat(100_000), oddNumbers, fc.anything())
const booleanOption = fc.oneof(fc.constant(undefined), fc.boolean(), fc.anything())
const millisOption = fc.oneof(fc.constant(undefined), fc.constant(false), fc.nat(100_000), oddNumbers, fc.anything())

/** Option sets: none, only sensible values, or fuzzed values (most of which break a rule). */
type Arbitraries = Readonly<Record<string, fc.Arbitrary<unknown>>>
const optionSets = (sensible: Arbitraries, fuzzed: Arbitraries): fc.Arbitrary<Readonly<Record<string, unknown>>> =>
  fc.oneof(
    fc.constant({}),
    fc.record(sensible, { requiredKeys: [] }),
    fc.record(fuzzed, { requiredKeys: [] })
  )

const count = fc.nat(100_000)

const tcpServerOptions = optionSets(
  { backlog: count, ipv6Only: fc.boolean(), noDelay: fc.boolean(), keepAlive: fc.oneof(fc.constant(false), count), readHighWaterMark: count },
  { backlog: numberOption, ipv6Only: booleanOption, noDelay: booleanOption, keepAlive: millisOption, readHighWaterMark: numberOption }
)

const unixServerOptions = optionSets(
  { backlog: count, replaceStale: fc.boolean(), readableAll: fc.boolean(), writableAll: fc.boolean(), readHighWaterMark: count },
  { backlog: numberOption, replaceStale: booleanOption, readableAll: booleanOption, writableAll: booleanOption, readHighWaterMark: numberOption }
)

const fdServerOptions = optionSets(
  { backlog: count, noDelay: fc.boolean(), readHighWaterMark: count },
  { backlog: numberOption, noDelay: booleanOption, readHighWaterMark: numberOption }
)

// ---- What may be opened ----

const isLoopback = (host: string) => host === "::1" || /^127\./.test(host)

/** A server URI that would listen on a fixed port or beyond loopback: parse only. */
const tcpListenIsSafe = (uri: string | number) =>
  Either.match(Effect.runSync(Effect.either(TcpServer.parseUri(uri))), {
    onLeft: () => true,
    onRight: (parsed) => parsed.port === 0 && isLoopback(parsed.host)
  })

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
        await tryInput(TcpServer.make(uri, options as TcpServer.Options), ListenError, [uri, options], counts)
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
        await tryInput(TcpConnector.connect(uri, options as TcpConnector.Options), ConnectError, [uri, options], counts)
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
        await tryInput(UnixServer.make(uri, options as UnixServer.Options), ListenError, [uri, options], servers)
      })
      assertVaried(servers)
      const connectorOptions = optionSets({ readHighWaterMark: count }, { readHighWaterMark: numberOption })
      const connectors = tally()
      yield* property(fc.tuple(fc.oneof(unixUri, fc.constant(listening.address)), connectorOptions), async ([uri, options]) => {
        if (!unixPathIsSafe(uri)) return
        await tryInput(UnixConnector.connect(uri, options as UnixConnector.Options), ConnectError, [uri, options], connectors)
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
        const error = await tryInput(FdServer.make(uri, options as FdServer.Options), ListenError, [uri, options], counts)
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
        await tryInput(SocketServer.make(uri, options as SocketServer.Options), ListenError, [uri, options], counts)
      })
      assertVaried(counts)
    })), TIMEOUT)
})
