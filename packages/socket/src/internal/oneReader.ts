/**
 * The one-reader rule every connection keeps: a reader (`read`, `pull`, `pipeTo`) that starts
 * while another waits takes over, and the earlier one fails with this error instead of waiting
 * forever or sharing the bytes.
 *
 * @internal
 */
import type * as Option from "effect/Option"
import { ConnectionError } from "../SocketError.js"

/** @internal */
export const busyError = (address: Option.Option<string>): ConnectionError =>
  new ConnectionError({
    reason: "Read",
    address,
    code: "EBUSY",
    detail: "Another fiber started reading this connection; a connection has one reader at a time"
  })
