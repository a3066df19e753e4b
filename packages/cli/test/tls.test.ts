import * as SocketServer from "@effect-socket/node/SocketServer"
import * as Server from "@effect-socket/socket/Server"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Stream from "effect/Stream"
import * as crypto from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as Certificate from "../src/internal/certificate.js"
import { cli, listen, runCli } from "./cliProcess.js"
import { spawn } from "./process.js"

/** A certificate for localhost/127.0.0.1/::1, as files: `cert`, `key`, and `pem` (both). */
const certificateFiles = Effect.gen(function*() {
  const dir = yield* Effect.acquireRelease(
    Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "es-cli-tls-"))),
    (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
  )
  const { cert, key } = yield* Certificate.localhost()
  const files = { cert: path.join(dir, "cert.pem"), key: path.join(dir, "key.pem"), pem: path.join(dir, "both.pem") }
  fs.writeFileSync(files.cert, cert)
  fs.writeFileSync(files.key, key)
  fs.writeFileSync(files.pem, cert + key)
  return { ...files, certPem: cert, keyPem: key }
})

const portOf = (address: string) => address.slice(address.lastIndexOf(":") + 1)

describe("effect-socket over TLS", () => {
  it.scoped("connect --ca pipes a binary file through listen tls:// (--cert, --key) by name, verified", () =>
    Effect.gen(function*() {
      const files = yield* certificateFiles
      const { address } = yield* listen("tls://127.0.0.1:0", "--cert", files.cert, "--key", files.key)
      assert.match(address, /^tls:\/\/127\.0\.0\.1:\d+$/)
      const payload = crypto.randomBytes(2 * 1024 * 1024)
      const result = yield* runCli(["connect", "-v", "--ca", files.cert, `tls://localhost:${portOf(address)}`], payload)
      assert.strictEqual(result.code, 0, result.stderr)
      assert.isTrue(result.stdout.equals(payload))
      assert.match(result.stderr, new RegExp(`Connected to ${address} from tls://127\\.0\\.0\\.1:\\d+ \\(IPv4, TLSv1\\.3, \\S+, ALPN none\\)`))
    }))

  it.scoped("refuses an unknown certificate; --insecure warns and connects anyway", () =>
    Effect.gen(function*() {
      const files = yield* certificateFiles
      const { address } = yield* listen("tls://127.0.0.1:0", "--cert", files.pem)
      const refused = yield* runCli(["connect", address], "x")
      assert.strictEqual(refused.code, 1)
      assert.strictEqual(
        refused.stderr.trim(),
        `Connection to ${address} failed during TLS handshake: Self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)`
      )
      const insecure = yield* runCli(["connect", "--insecure", address], "trusting")
      assert.strictEqual(insecure.code, 0, insecure.stderr)
      assert.strictEqual(insecure.stdout.toString(), "trusting")
      assert.match(insecure.stderr, /^Warning: --insecure: the server's certificate is not verified/)
    }))

  it.scoped("talks TLS to a socat peer (OPENSSL-LISTEN), byte for byte", () =>
    Effect.gen(function*() {
      const files = yield* certificateFiles
      const socat = yield* spawn("socat", [
        "-d",
        "-d",
        `OPENSSL-LISTEN:0,bind=127.0.0.1,cert=${files.cert},key=${files.key},verify=0`,
        "EXEC:cat"
      ])
      const [, port] = yield* socat.waitForStderr(/listening on .*:(\d+)\s/)
      const payload = crypto.randomBytes(256 * 1024)
      const result = yield* runCli(["connect", "--ca", files.cert, `tls://127.0.0.1:${port}`], payload)
      assert.strictEqual(result.code, 0, result.stderr)
      assert.isTrue(result.stdout.equals(payload))
    }))

  it.scoped("--alpn offers protocols; the one the server picks is shown under --verbose", () =>
    Effect.gen(function*() {
      const files = yield* certificateFiles
      const server = yield* SocketServer.make("tls://127.0.0.1:0", {
        tls: { cert: files.certPem, key: files.keyPem, alpnProtocols: ["http/1.1"] }
      })
      yield* Effect.forkScoped(Server.serve(server, (connection) => Stream.run(connection.read, connection.sink)))
      const result = yield* runCli(
        ["connect", "-v", "--ca", files.cert, "--alpn", "h2", "--alpn", "http/1.1", server.address],
        "negotiated"
      )
      assert.strictEqual(result.code, 0, result.stderr)
      assert.strictEqual(result.stdout.toString(), "negotiated")
      assert.include(result.stderr, "ALPN http/1.1)")
    }))

  it.scoped("--timeout bounds the TLS handshake with a peer that never answers", () =>
    Effect.gen(function*() {
      // A plain TCP server that reads and drops: the ClientHello is never answered.
      const { address } = yield* listen("127.0.0.1:0", "--mode", "discard")
      const uri = `tls://127.0.0.1:${portOf(address)}`
      const result = yield* runCli(["connect", "--timeout", "0.5", uri])
      assert.strictEqual(result.code, 1)
      assert.strictEqual(result.stderr.trim(), `Connection to ${uri} timed out after 0.5 seconds (ETIMEDOUT)`)
    }))

  it.scoped("listen tls:// without a certificate, or with --cert but no key, fails with EINVAL", () =>
    Effect.gen(function*() {
      const files = yield* certificateFiles
      for (const args of [[], ["--cert", files.cert]]) {
        const proc = yield* cli("listen", "tls://127.0.0.1:0", ...args)
        const exited = yield* proc.closed
        assert.strictEqual(exited.code, 1)
        assert.strictEqual(
          proc.stderr().trim(),
          'Failed to listen on "tls://127.0.0.1:0": A TLS server needs a certificate and its private key (`pem`, or `cert` and `key`) (EINVAL)'
        )
      }
    }))
})
