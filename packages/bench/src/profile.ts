/**
 * `node packages/bench/dist/profile.js FILE.cpuprofile [N] [--inclusive]`: the N (default 25)
 * functions with the most self time in a V8 CPU profile (from `pnpm bench --profile`), or with
 * the most inclusive time (time with the function anywhere on the stack), and the share of
 * busy time spent in each package.
 */
import * as fs from "node:fs"

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}

interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: ReadonlyArray<number>
}

interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const args = process.argv.slice(2)
const inclusive = args.includes("--inclusive")
const [file, top = "25"] = args.filter((arg) => !arg.startsWith("--"))
if (file === undefined) {
  console.log("usage: node packages/bench/dist/profile.js FILE.cpuprofile [N] [--inclusive]")
  process.exit(1)
}

const profile = JSON.parse(fs.readFileSync(file, "utf8")) as Profile
const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const parent = new Map<number, number>()
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)

const name = (frame: CallFrame) => {
  const where = frame.url === ""
    ? ""
    : ` ${frame.url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*\/packages\//, "")}:${frame.lineNumber + 1}`
  return `${frame.functionName || "(anonymous)"}${where}`
}

/** Where a frame's code comes from: effect, effect-socket, @effect/platform, Node's own JS, native. */
const area = (frame: CallFrame) => {
  const url = frame.url
  if (url === "") return `native ${frame.functionName}`
  if (url.startsWith("node:")) return "node (lib)"
  if (/node_modules\/(\.pnpm\/)?effect/.test(url) || url.includes("/effect/dist/")) return "effect"
  if (url.includes("@effect/platform")) return "@effect/platform"
  if (url.includes("/packages/node/") || url.includes("/packages/socket/")) return "effect-socket"
  return "other"
}

const self = new Map<string, number>()
const total = new Map<string, number>()
const areas = new Map<string, number>()
let busy = 0
profile.samples.forEach((id, i) => {
  const dt = profile.timeDeltas[i] ?? 0
  const frame = byId.get(id)!.callFrame
  if (frame.functionName === "(idle)") return
  busy += dt
  self.set(name(frame), (self.get(name(frame)) ?? 0) + dt)
  areas.set(area(frame), (areas.get(area(frame)) ?? 0) + dt)
  if (!inclusive) return
  const seen = new Set<string>()
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const key = name(byId.get(at)!.callFrame)
    if (seen.has(key)) continue
    seen.add(key)
    total.set(key, (total.get(key) ?? 0) + dt)
  }
})

const percent = (dt: number) => `${((dt / busy) * 100).toFixed(1).padStart(5)}%`
console.log(`${file}: ${(busy / 1e6).toFixed(2)} s busy`)
console.log("by area (self time):")
for (const [key, dt] of [...areas].sort((a, b) => b[1] - a[1]).slice(0, 10)) console.log(`  ${percent(dt)}  ${key}`)
console.log(inclusive ? "by function (inclusive):" : "by function (self):")
for (const [key, dt] of [...(inclusive ? total : self)].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
  console.log(`  ${percent(dt)}  ${key}`)
}
