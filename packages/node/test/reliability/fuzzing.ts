/**
 * The fuzzing rules of the bad-input tests: every input is tried (its scope closed at once), and
 * must neither throw nor die; a failure must be the module's typed error; input refused as bad
 * (`EINVAL` before any I/O) must open no socket; and nothing may hang. Also the arbitraries the
 * tests share: near-valid URIs, odd numbers, option sets.
 */
import { afterAll, assert, beforeAll } from "@effect/vitest"
import * as TcpServer from "@effect-socket/node/TcpServer"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as fc from "fast-check"
import { createHook } from "node:async_hooks"
import { SEED, size } from "./support.js"

/** Inputs per property. */
export const RUNS = size(300, 5_000)

// Every socket handle Node creates while an input is tried.
const socketHandles = new Set(["TCPWRAP", "TCPSERVERWRAP", "PIPEWRAP", "PIPESERVERWRAP", "UDPWRAP"])
let handlesCreated = 0
const hook = createHook({
  init(_id, type) {
    if (socketHandles.has(type)) handlesCreated++
  }
})

/** Counts the socket handles created while each input is tried; call once per test file. */
export const watchSocketHandles = () => {
  beforeAll(() => void hook.enable())
  afterAll(() => void hook.disable())
}

/** What the typed errors of effect-socket have in common. */
interface TypedError {
  readonly _tag: string
  readonly reason: string
  readonly code: string
  readonly detail?: string | undefined
  readonly message: string
}

/** Whether a failure is the refusal of bad input, which must come before any I/O. */
const isBadInput = (error: TypedError) =>
  error.code === "EINVAL" &&
  (error.reason === "InvalidUri" || error.reason === "Invalid" || (error.detail ?? "").startsWith("Invalid option"))

/** How the inputs of one property fared, so that a test can tell it tried all kinds. */
export interface Tally {
  succeeded: number
  refused: number
  failed: number
}

export const tally = (): Tally => ({ succeeded: 0, refused: 0, failed: 0 })

/** Every kind of outcome happened: some inputs worked, some were refused as bad input, and so on. */
export const assertVaried = (counts: Tally, kinds: ReadonlyArray<keyof Tally> = ["succeeded", "refused"]) => {
  for (const kind of kinds) assert.isAbove(counts[kind], 0, `${kind} (${JSON.stringify(counts)}, seed ${SEED})`)
}

/** An input as JSON, with what JSON cannot show (NaN, Infinity, bigints) as text. */
const show = (input: unknown) =>
  JSON.stringify(input, (_key, value: unknown) =>
    (typeof value === "number" && !Number.isFinite(value)) || typeof value === "bigint" ? String(value) : value)

/**
 * Tries `effect` (its scope closed at once, within 10 seconds) and asserts the rules: no defect,
 * no hang, a failure is an error tagged `tag`, and bad input opened no socket. Counts the
 * outcome and returns the error, if any.
 */
export const tryInput = <E extends TypedError>(
  effect: Effect.Effect<unknown, E, Scope.Scope>,
  tag: E["_tag"],
  input: unknown,
  counts: Tally
): Promise<E | undefined> =>
  Effect.runPromise(Effect.gen(function*() {
    const before = handlesCreated
    const exit = yield* Effect.exit(Effect.scoped(effect).pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => "hung" as const })))
    const created = handlesCreated - before
    const shown = show(input)
    if (Exit.isSuccess(exit)) {
      counts.succeeded++
      return undefined
    }
    assert.deepStrictEqual(Cause.defects(exit.cause).pipe((defects) => [...defects].map(String)), [], `died on ${shown}`)
    const error = Cause.failureOption(exit.cause)
    assert.isTrue(Option.isSome(error), `no typed error for ${shown}: ${Cause.pretty(exit.cause)}`)
    const value = (error as Option.Some<E | "hung">).value
    if (value === "hung") return assert.fail(`hung on ${shown}`)
    assert.strictEqual(value._tag, tag, `${shown} failed with ${String(value)}`)
    assert.isString(value.message)
    if (isBadInput(value)) {
      counts.refused++
      assert.strictEqual(created, 0, `bad input ${shown} opened a socket: ${value.message}`)
    } else {
      counts.failed++
    }
    return value
  }))

/** Checks `check` on {@link RUNS} inputs drawn with the file's seed. */
export const property = <T>(arbitrary: fc.Arbitrary<T>, check: (input: T) => Promise<void>) =>
  Effect.promise(() => fc.assert(fc.asyncProperty(arbitrary, check), { numRuns: RUNS, seed: SEED, endOnFailure: true }))

// ---- Arbitraries ----

export const text = fc.oneof(
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
export const tails = fc.oneof(fc.constantFrom("", "/", "/path", "?", "?hostname=x", "?a=1&a=2", "#frag", "/?#", "?%zz"), text)

/** Host/port URIs: structured ones, mostly near-valid, and random text. */
export const hostPortUri = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(schemes, hosts, ports, tails).map((parts) => parts.join("")) },
  { weight: 1, arbitrary: text }
)

export const oddNumbers = fc.oneof(
  fc.integer({ min: -10, max: 70_000 }),
  fc.double(),
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, 1.5, 2 ** 31, 2 ** 53, -1)
)

/** Values for a numeric option: sensible ones, odd numbers, and (as untyped callers pass) anything. */
export const numberOption = fc.oneof(fc.constant(undefined), fc.nat(100_000), oddNumbers, fc.anything())
export const booleanOption = fc.oneof(fc.constant(undefined), fc.boolean(), fc.anything())
export const millisOption = fc.oneof(fc.constant(undefined), fc.constant(false), fc.nat(100_000), oddNumbers, fc.anything())

/** Option sets: none, only sensible values, or fuzzed values (most of which break a rule). */
export type Arbitraries = Readonly<Record<string, fc.Arbitrary<unknown>>>
export const optionSets = (sensible: Arbitraries, fuzzed: Arbitraries): fc.Arbitrary<Readonly<Record<string, unknown>>> =>
  fc.oneof(
    fc.constant({}),
    fc.record(sensible, { requiredKeys: [] }),
    fc.record(fuzzed, { requiredKeys: [] })
  )

export const count = fc.nat(100_000)
/** A sensible backlog: a positive integer (0 is refused with EINVAL). */
const backlog = fc.integer({ min: 1, max: 100_000 })

export const tcpServerOptions = optionSets(
  { backlog, ipv6Only: fc.boolean(), noDelay: fc.boolean(), keepAlive: fc.oneof(fc.constant(false), count), readHighWaterMark: count },
  { backlog: numberOption, ipv6Only: booleanOption, noDelay: booleanOption, keepAlive: millisOption, readHighWaterMark: numberOption }
)

export const unixServerOptions = optionSets(
  { backlog, replaceStale: fc.boolean(), readableAll: fc.boolean(), writableAll: fc.boolean(), readHighWaterMark: count },
  { backlog: numberOption, replaceStale: booleanOption, readableAll: booleanOption, writableAll: booleanOption, readHighWaterMark: numberOption }
)

export const fdServerOptions = optionSets(
  { backlog, noDelay: fc.boolean(), readHighWaterMark: count },
  { backlog: numberOption, noDelay: booleanOption, readHighWaterMark: numberOption }
)

// ---- What may be opened ----

export const isLoopback = (host: string) => host === "::1" || /^127\./.test(host)

/** A server URI that would listen on a fixed port or beyond loopback: parse only. */
export const tcpListenIsSafe = (uri: string | number) =>
  Either.match(Effect.runSync(Effect.either(TcpServer.parseUri(uri))), {
    onLeft: () => true,
    onRight: (parsed) => parsed.port === 0 && isLoopback(parsed.host)
  })

