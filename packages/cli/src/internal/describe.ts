/**
 * One-line descriptions of connections for `--verbose`: both ends, the address family, and
 * what TLS agreed on.
 */
import * as Tls from "@effect-socket/node/Tls"
import type { Connection } from "@effect-socket/socket/Connection"
import * as Option from "effect/Option"

const familyOf = (address: string) =>
  address.startsWith("unix:") ? "Unix domain socket" : address.includes("[") ? "IPv6" : "IPv4"

/** What TLS agreed on, for a TLS connection: `TLSv1.3, TLS_AES_256_GCM_SHA384, ALPN http/1.1`. */
export const tlsSession = (connection: Connection): Option.Option<string> =>
  Option.map(
    Tls.info(connection),
    (info) => `${info.protocol}, ${info.cipher}, ALPN ${Option.getOrElse(info.alpnProtocol, () => "none")}`
  )

/**
 * `tls://[::1]:8443 from tls://[::1]:50312 (IPv6, TLSv1.3, TLS_AES_256_GCM_SHA384, ALPN none)`:
 * the peer, this end when it has an address, the family and, for TLS, the session.
 */
export const connection = (connection: Connection): string => {
  const remote = Option.getOrElse(connection.remoteAddress, () => "unknown peer")
  const from = Option.match(connection.localAddress, { onNone: () => "", onSome: (local) => ` from ${local}` })
  const session = Option.match(tlsSession(connection), { onNone: () => "", onSome: (text) => `, ${text}` })
  return `${remote}${from} (${familyOf(remote)}${session})`
}
