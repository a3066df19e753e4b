import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as fs from "node:fs"
import * as net from "node:net"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { run, server } from "./example.js"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..")
const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")
const codeBlocks = Array.from(readme.matchAll(/```ts\n([\s\S]*?)```/g), (match) => match[1]!)

/** A loopback address nobody listens on: a port just bound and released. */
const closedPort = Effect.async<string>((resume) => {
  const probe = net.createServer().listen(0, "127.0.0.1", () => {
    const { port } = probe.address() as net.AddressInfo
    probe.close(() => resume(Effect.succeed(`tcp://127.0.0.1:${port}`)))
  })
})

describe("README quick start", () => {
  for (const file of ["readme-echo-server.ts", "readme-client.ts"]) {
    it("shows " + file + " verbatim", () => {
      const source = fs.readFileSync(path.join(root, "packages/examples/src", file), "utf8")
      assert.include(codeBlocks, source, `README.md has no \`\`\`ts block equal to packages/examples/src/${file}`)
    })
  }

  it.scoped("the client gets its line back from the echo server", () =>
    Effect.gen(function*() {
      const { address } = yield* server("readme-echo-server")
      const result = yield* run("readme-client", [address])
      assert.strictEqual(result.code, 0, result.stderr)
      assert.strictEqual(result.stdout.toString(), "hello\n\n")
    }))

  it.scoped("the client reports a refused connection as its error, without a FiberFailure dump, and exits 1", () =>
    Effect.gen(function*() {
      const address = yield* closedPort
      const result = yield* run("readme-client", [address])
      // NodeRuntime.runMain logs the failure (Effect's logger writes to stdout).
      const output = result.stdout.toString() + result.stderr
      assert.strictEqual(result.code, 1)
      assert.include(output, `ConnectError: Connection to ${address} failed: Connection refused (ECONNREFUSED)`)
      assert.notInclude(output, "FiberFailure")
    }))
})
