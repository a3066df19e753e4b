import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { ViteUserConfig } from "vitest/config"

const root = path.dirname(fileURLToPath(import.meta.url))
const src = (pkg: string) => path.join(root, "packages", pkg, "src")

/** Tests import the workspace packages from source, so no build is needed before `pnpm test`. */
export const shared: ViteUserConfig = {
  resolve: {
    alias: [
      { find: /^@effect-socket\/(socket|node)$/, replacement: `${src("$1")}/index.ts` },
      { find: /^@effect-socket\/(socket|node)\/(.*)$/, replacement: `${src("$1")}/$2.ts` }
    ]
  },
  test: {
    setupFiles: [path.join(root, "vitest.setup.ts")],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks"
  }
}
