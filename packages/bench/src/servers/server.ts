import type { ServerKind, TlsMaterial } from "../protocol.js"

/** A listening benchmark server, on 127.0.0.1 and a port the OS picked. */
export interface RunningServer {
  readonly port: number
  /** Stops listening and closes every connection still open. */
  readonly close: () => Promise<void>
}

/**
 * One implementation's server side. Handlers do what a user of that library would write for
 * a discarding or an echoing server, with `TCP_NODELAY` on everywhere.
 */
export interface ServerImpl {
  /** With `tls`, TLS 1.3 on top (an implementation without TLS rejects). */
  readonly listen: (kind: ServerKind, tls: TlsMaterial | undefined) => Promise<RunningServer>
  /** Connections whose handler has started, since the process began (never decremented). */
  readonly accepted: () => number
}
