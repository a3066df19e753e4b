/**
 * A self-signed ECDSA P-256 certificate for 127.0.0.1, made with the `openssl` command for the
 * TLS workload (clients trust it as their CA), or `undefined` when `openssl` is missing.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { TlsMaterial } from "./protocol.js"

export const selfSigned = (): TlsMaterial | undefined => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "effect-socket-bench-"))
  try {
    const key = path.join(dir, "key.pem")
    const cert = path.join(dir, "cert.pem")
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"
    ], { stdio: "ignore" })
    return { cert: fs.readFileSync(cert, "utf8"), key: fs.readFileSync(key, "utf8") }
  } catch {
    return undefined
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
