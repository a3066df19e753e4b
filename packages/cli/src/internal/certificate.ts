/**
 * Self-signed certificates made on the spot (EC P-256, a few milliseconds each), for the demo's
 * TLS check and for trying `listen tls://` without a certificate at hand.
 */
import * as Effect from "effect/Effect"
import { generate } from "selfsigned"

/** A certificate and its private key, PEM-encoded, each ending with a newline. */
export interface Certificate {
  readonly cert: string
  readonly key: string
}

/**
 * A self-signed certificate for `localhost`, `127.0.0.1` and `::1`, valid from now for `days`
 * days. The certificate is its own CA: a client trusts it by passing it as `ca`.
 */
export const localhost = (days = 1): Effect.Effect<Certificate> =>
  Effect.promise(async () => {
    const now = new Date()
    const pems = await generate([{ name: "commonName", value: "localhost" }], {
      keyType: "ec",
      curve: "P-256",
      algorithm: "sha256",
      notBeforeDate: now,
      notAfterDate: new Date(now.getTime() + days * 86_400_000),
      extensions: [{
        name: "subjectAltName",
        altNames: [{ type: 2, value: "localhost" }, { type: 7, ip: "127.0.0.1" }, { type: 7, ip: "::1" }]
      }]
    })
    // Each ends with a newline, so that the two can be concatenated into one PEM bundle.
    return { cert: `${pems.cert.trim()}\n`, key: `${pems.private.trim()}\n` }
  })
