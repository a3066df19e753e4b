import type { Reporter, TestModule } from "vitest/node"

/** Ends the run with the plain `N passed, N failed` line that CI reads. */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, errors: ReadonlyArray<unknown>) {
    let passed = 0
    let failed = errors.length
    for (const module of testModules) {
      if (module.state() === "failed" && module.children.size === 0) failed++
      for (const test of module.children.allTests()) {
        const state = test.result().state
        if (state === "passed") passed++
        else if (state === "failed") failed++
      }
      // A file whose afterAll (the leak check) failed counts as a failure even when its tests passed.
      if (module.state() === "failed" && module.errors().length > 0) failed += module.errors().length
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed\n`)
  }
}
