import { defineProject, mergeConfig } from "vitest/config"
import { shared } from "../../vitest.shared.js"

export default mergeConfig(
  shared,
  defineProject({
    test: {
      name: "cli",
      include: ["test/**/*.test.ts"],
      // Each test spawns node processes (about a second each to start on a loaded 2-core machine).
      testTimeout: 60_000,
      // The end-to-end tests spawn the built command: build it (and what it imports) once.
      globalSetup: ["test/build.globalSetup.ts"]
    }
  })
)
