import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as TlsConnector from "@effect-socket/node/TlsConnector"
import * as Connector from "@effect-socket/socket/Connector"
import { assert, describe, it } from "@effect/vitest"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Stream from "effect/Stream"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { spawn } from "../../cli/test/process.js"
import { run, serverAt } from "./example.js"

/** `99-generate-self-signed`'s output in a PEM file, removed afterwards. */
const localhostPem = Effect.gen(function*() {
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "es-example-tls-"))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )
  const generated = yield* run("99-generate-self-signed", ["localhost"])
  assert.strictEqual(generated.code, 0, generated.stderr)
  const file = path.join(dir, "localhost.pem")
  fs.writeFileSync(file, generated.stdout)
  return file
})

const portOf = (address: string) => address.slice(address.lastIndexOf(":") + 1)

describe("examples over TLS, with 99-generate-self-signed's certificate", () => {
  it.scoped("12-https-client fetches 03-http-server over tls:// when Node trusts the certificate", () =>
    Effect.gen(function*() {
      const pem = yield* localhostPem
      const { address } = yield* serverAt("03-http-server", "tls://127.0.0.1:0", pem)
      assert.match(address, /^https:\/\/127\.0\.0\.1:\d+$/)
      const result = yield* run("12-https-client", [`localhost:${portOf(address)}`], "", { NODE_EXTRA_CA_CERTS: pem })
      assert.strictEqual(result.code, 0, result.stderr)
      const output = result.stdout.toString()
      assert.match(output, /^HTTP\/1\.1 200 OK\r\n/)
      assert.isTrue(output.endsWith("<html><h1>Hello world!</h1></html>\r\n[CLOSED]\n"))
      // curl agrees.
      const curl = yield* spawn("curl", ["-sS", "--cacert", pem, `https://localhost:${portOf(address)}/`])
      assert.strictEqual((yield* curl.closed).code, 0, curl.stderr())
      assert.strictEqual(curl.stdout().toString(), "<html><h1>Hello world!</h1></html>\r\n")
    }))

  it.scoped("12-https-client refuses a certificate nobody trusts", () =>
    Effect.gen(function*() {
      const pem = yield* localhostPem
      const { address } = yield* serverAt("03-http-server", "tls://127.0.0.1:0", pem)
      const port = portOf(address)
      const result = yield* run("12-https-client", [`localhost:${port}`])
      assert.strictEqual(result.code, 1)
      assert.strictEqual(
        result.stderr.trim(),
        `Error: Connection to tls://localhost:${port} failed during TLS handshake: Self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)`
      )
    }))

  it.scoped("01-echo-server echoes over tls://", () =>
    Effect.gen(function*() {
      const pem = yield* localhostPem
      const { address } = yield* serverAt("01-echo-server", "tls://127.0.0.1:0", pem)
      const client = TlsConnector.layer({ ca: fs.readFileSync(pem) }).pipe(Layer.provide(TcpConnector.layer))
      const connection = yield* Connector.connect(address).pipe(Effect.provide(client))
      yield* connection.write("secret")
      yield* connection.end
      const echoed = yield* Stream.runCollect(connection.read)
      assert.strictEqual(Buffer.concat(Chunk.toArray(echoed)).toString(), "secret")
    }))
})
