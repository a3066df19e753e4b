import { createHook } from "node:async_hooks"
import { afterAll, beforeAll } from "vitest"

/**
 * Suite-level leak check: every test file runs in its own process (pool "forks"), and every
 * socket, server, pipe, child process, pending connect or DNS query, file watcher and ref'd
 * timer that its tests create must be gone when the file ends, or the file fails.
 *
 * `async_hooks` reports each resource when it is created and when it is destroyed, so the
 * check follows the resources the tests made rather than counting kinds: a count of
 * `process.getActiveResourcesInfo()` against a baseline misses a leak whenever one of the
 * runner's own short-lived timers is in the baseline, and Node names a socket `TCPSocketWrap`
 * there, not `TCPWrap`. Timers that are not ref'd (the runner's timeouts) do not count.
 */
const watched = new Set([
  "TCPWRAP",
  "TCPSERVERWRAP",
  "TCPCONNECTWRAP",
  "PIPEWRAP",
  "PIPESERVERWRAP",
  "PIPECONNECTWRAP",
  "UDPWRAP",
  "PROCESSWRAP",
  "FSEVENTWRAP",
  "GETADDRINFOREQWRAP",
  "QUERYWRAP",
  "Timeout"
])

let tracking = false
const alive = new Map<number, { readonly type: string; readonly resource: unknown }>()

createHook({
  init(asyncId, type, _triggerAsyncId, resource) {
    if (tracking && watched.has(type)) alive.set(asyncId, { type, resource })
  },
  destroy(asyncId) {
    alive.delete(asyncId)
  }
}).enable()

const isUnrefTimer = (resource: unknown) =>
  typeof (resource as { hasRef?: unknown }).hasRef === "function" && !(resource as { hasRef: () => boolean }).hasRef()

const leaked = () => {
  const counts = new Map<string, number>()
  for (const { type, resource } of alive.values()) {
    if (type === "Timeout" && isUnrefTimer(resource)) continue
    counts.set(type, (counts.get(type) ?? 0) + 1)
  }
  return Array.from(counts, ([type, count]) => `${count} ${type}`)
}

beforeAll(() => {
  alive.clear()
  tracking = true
})

afterAll(async () => {
  tracking = false
  // Closing is asynchronous in Node (a destroyed socket's handle closes on a later tick): wait a little.
  const deadline = Date.now() + 2_000
  let left = leaked()
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    left = leaked()
  }
  if (left.length > 0) throw new Error(`Leaked handles after this file's tests: ${left.join(", ")}`)
})
