/** The test projects: one per package that has tests. */
export default ["packages/*/vitest.config.ts"]
