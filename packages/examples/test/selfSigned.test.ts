import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as crypto from "node:crypto"
import { run } from "./example.js"

const split = (pem: string) => {
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/.exec(pem)
  const key = /-----BEGIN (ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (ENCRYPTED )?PRIVATE KEY-----\n/.exec(pem)
  assert.isNotNull(cert)
  assert.isNotNull(key)
  return { cert: new crypto.X509Certificate(cert![0]), key: key![0] }
}

describe("99-generate-self-signed", () => {
  it.effect("prints a certificate for localhost (and 127.0.0.1, ::1), valid ~10 years, and its key", () =>
    Effect.gen(function*() {
      const result = yield* run("99-generate-self-signed", [])
      assert.strictEqual(result.code, 0, result.stderr)
      const { cert, key } = split(result.stdout.toString())
      assert.strictEqual(cert.subject, "CN=localhost")
      assert.strictEqual(cert.issuer, cert.subject)
      assert.strictEqual(cert.checkHost("localhost"), "localhost")
      assert.strictEqual(cert.checkIP("127.0.0.1"), "127.0.0.1")
      assert.strictEqual(cert.checkIP("::1"), "::1")
      const days = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000
      assert.isTrue(days > 3649 && days < 3651, `${days} days`)
      assert.isTrue(cert.checkPrivateKey(crypto.createPrivateKey(key)))
    }))

  it.effect("encrypts the key with the passphrase given, for the common name given", () =>
    Effect.gen(function*() {
      const result = yield* run("99-generate-self-signed", ["example.test", "swordfish"])
      assert.strictEqual(result.code, 0, result.stderr)
      const { cert, key } = split(result.stdout.toString())
      assert.strictEqual(cert.subject, "CN=example.test")
      assert.include(key, "ENCRYPTED PRIVATE KEY")
      assert.throws(() => crypto.createPrivateKey(key))
      assert.isTrue(cert.checkPrivateKey(crypto.createPrivateKey({ key, passphrase: "swordfish" })))
    }))
})
