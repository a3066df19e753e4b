import { defineProject, mergeConfig } from "vitest/config"
import { shared } from "../../vitest.shared.js"

export default mergeConfig(
  shared,
  defineProject({
    test: {
      name: "examples",
      include: ["test/**/*.test.ts"],
      // The tests run the built examples as a user would: build them once.
      globalSetup: ["../cli/test/build.globalSetup.ts"]
    }
  })
)
