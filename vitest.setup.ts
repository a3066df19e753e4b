import { afterAll, beforeAll } from "vitest"

/**
 * Suite-level leak check: every test file runs in its own process (pool "forks"), so the
 * handles alive when the file ends must be the ones alive when it started. A socket, server,
 * pipe, child process or timer left open by a test fails the file.
 */
const watched = new Set(["TCPWrap", "TCPServerWrap", "PipeWrap", "PipeServerWrap", "TLSWrap", "Timeout", "UDPWrap", "ProcessWrap", "FSEvent", "GetAddrInfoReqWrap", "QueryReqWrap"])

const snapshot = () => {
  const counts = new Map<string, number>()
  for (const kind of process.getActiveResourcesInfo()) {
    if (watched.has(kind)) counts.set(kind, (counts.get(kind) ?? 0) + 1)
  }
  return counts
}

const excess = (baseline: Map<string, number>) => {
  const leaked: Array<string> = []
  for (const [kind, count] of snapshot()) {
    const extra = count - (baseline.get(kind) ?? 0)
    if (extra > 0) leaked.push(`${extra} ${kind}`)
  }
  return leaked
}

let baseline = new Map<string, number>()
beforeAll(() => {
  baseline = snapshot()
})

afterAll(async () => {
  // Closing is asynchronous in Node (a destroyed socket's handle closes on a later tick): wait a little.
  const deadline = Date.now() + 2_000
  let leaked = excess(baseline)
  while (leaked.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    leaked = excess(baseline)
  }
  if (leaked.length > 0) throw new Error(`Leaked handles after this file's tests: ${leaked.join(", ")}`)
})
