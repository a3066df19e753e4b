/**
 * Generates a self-signed certificate and its private key, valid for 10 years, and prints both
 * in PEM format (the certificate first): what a TLS server needs to get started.
 *
 *   $ node packages/examples/dist/99-generate-self-signed.js localhost > localhost.pem
 *   $ node packages/examples/dist/99-generate-self-signed.js localhost my-secret-passphrase > secret.pem
 *
 * The first argument is the common name (default `localhost`), also set as the subject
 * alternative name, with 127.0.0.1 and ::1 for `localhost`; the optional second one encrypts
 * the private key. The Effect version of ReactPHP socket's examples/99-generate-self-signed.php.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { generate } from "selfsigned"

const commonName = process.argv[2] ?? "localhost"
const passphrase = process.argv[3]

const program = Effect.gen(function*() {
  const now = new Date()
  const tenYears = new Date(now.getTime() + 3650 * 24 * 60 * 60 * 1000)
  const altNames = commonName === "localhost"
    ? [{ type: 2 as const, value: commonName }, { type: 7 as const, ip: "127.0.0.1" }, { type: 7 as const, ip: "::1" }]
    : [{ type: 2 as const, value: commonName }]
  const pems = yield* Effect.tryPromise(() =>
    generate([{ name: "commonName", value: commonName }], {
      keyType: "ec",
      curve: "P-256",
      algorithm: "sha256",
      notBeforeDate: now,
      notAfterDate: tenYears,
      extensions: [{ name: "subjectAltName", altNames }],
      ...(passphrase !== undefined ? { passphrase } : {})
    })
  )
  yield* Console.log(`${pems.cert.trim()}\n${pems.private.trim()}`)
})

NodeRuntime.runMain(program)
