import { execFileSync } from "node:child_process"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

/** Builds packages/cli and its references with `tsc -b` (incremental: fast when up to date). */
export default function setup() {
  const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
  execFileSync(process.execPath, [tsc, "-b", pkg], { stdio: "inherit" })
}
