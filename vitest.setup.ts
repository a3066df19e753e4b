import { createHook } from "node:async_hooks"
import * as Option from "effect/Option"
import { afterAll, afterEach, assert, beforeAll } from "vitest"

/**
 * Suite-level leak check. Every test file runs in its own process (pool "forks"); from the
 * file's first hook on, every socket, server, pipe, child process and timer created is tracked
 * until Node destroys it. One still alive when the file ends fails the file.
 */
const watched = new Set(["TCPWRAP", "TCPSERVERWRAP", "PIPEWRAP", "PIPESERVERWRAP", "UDPWRAP", "PROCESSWRAP", "Timeout"])
const alive = new Map<number, { readonly type: string; readonly resource: object }>()
/** Async ids only grow: timers made after the last test (vitest's own hook timers, ours) are not the tests'. */
let lastId = 0
let lastTestId = 0

const hook = createHook({
  init(asyncId, type, _triggerAsyncId, resource) {
    lastId = asyncId
    if (watched.has(type)) alive.set(asyncId, { type, resource })
  },
  destroy(asyncId) {
    alive.delete(asyncId)
  }
})

/** A timer that fired or was cleared is done even before its destroy hook runs. */
const isLeak = (asyncId: number, { type, resource }: { readonly type: string; readonly resource: object }) =>
  type !== "Timeout" || (asyncId <= lastTestId && (resource as { _destroyed?: boolean })._destroyed !== true)

const leaks = () => {
  const counts = new Map<string, number>()
  for (const [asyncId, entry] of alive) {
    if (isLeak(asyncId, entry)) counts.set(entry.type, (counts.get(entry.type) ?? 0) + 1)
  }
  return Array.from(counts, ([type, count]) => `${count} ${type}`)
}

beforeAll(() => {
  hook.enable()
})

afterEach(() => {
  lastTestId = lastId
})

afterAll(async () => {
  // Closing is asynchronous in Node (a destroyed socket's handle closes on a later tick): wait a little.
  const deadline = Date.now() + 2_000
  let leaked = leaks()
  while (leaked.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    leaked = leaks()
  }
  hook.disable()
  if (leaked.length > 0) throw new Error(`Leaked handles after this file's tests: ${leaked.join(", ")}`)
})

/**
 * chai's deep equality walks an Effect `Option` through its iterator and finds `None` equal to
 * any `Some`. Compare Options by their tag, then their values, so such assertions can fail.
 */
for (const name of ["deepStrictEqual", "deepEqual"] as const) {
  const original = assert[name] as (actual: unknown, expected: unknown, message?: string) => void
  assert[name] = ((actual: unknown, expected: unknown, message?: string) => {
    if (Option.isOption(actual) || Option.isOption(expected)) {
      if (!Option.isOption(actual) || !Option.isOption(expected) || actual._tag !== expected._tag) {
        assert.fail(actual, expected, message ?? `expected ${String(actual)} to equal ${String(expected)}`)
      }
      if (Option.isSome(actual) && Option.isSome(expected)) return original(actual.value, expected.value, message)
      return
    }
    return original(actual, expected, message)
  }) as typeof assert[typeof name]
}
