import { execFileSync } from "node:child_process"
import { createRequire } from "node:module"
import type { TestProject } from "vitest/node"

/**
 * Builds the test project's package and its references with `tsc -b` (incremental: fast when
 * up to date), for tests that run the built JavaScript in child processes.
 */
export default function setup(project: TestProject) {
  const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc")
  execFileSync(process.execPath, [tsc, "-b", project.config.root], { stdio: "inherit" })
}
