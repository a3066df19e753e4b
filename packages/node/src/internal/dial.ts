import type { Connection } from "@effect-socket/socket/Connection"
import type { ConnectStage } from "@effect-socket/socket/SocketError"
import { ConnectError } from "@effect-socket/socket/SocketError"
import * as Effect from "effect/Effect"
import * as Scope from "effect/Scope"
import * as net from "node:net"
import { describe } from "./errno.js"
import { onreadOption } from "./sharedReadBuffer.js"
import type { AddressFormat } from "./socketConnection.js"
import { DEFAULT_READ_HIGH_WATER_MARK, SocketConnection } from "./socketConnection.js"

/** One connection attempt, whatever it dials (an IP and port, or a Unix socket path). */
export interface DialSpec {
  /** The URI as the caller gave it, for error messages. */
  readonly uri: string
  /** What `net.connect` is given; `allowHalfOpen` is always on. */
  readonly connect: net.NetConnectOpts
  /** The stage a failure is reported in. */
  readonly stage: ConnectStage
  /** How the connection names its two ends. */
  readonly addresses: AddressFormat
  readonly readHighWaterMark?: number | undefined
}

/**
 * Connects as `spec` says. Fails with `Failed` and the system code; with `EINVAL` and Node's
 * words when `net.connect` refuses its options outright (it throws rather than emitting an
 * error). Interrupting it before the connection is established destroys the socket.
 */
export const dial = (spec: DialSpec): Effect.Effect<Connection, ConnectError> =>
  Effect.async<Connection, ConnectError>((resume) => {
    // As net.connect, but with the socket in hand when connect() throws: by then it may hold a
    // handle (a file descriptor) that must be closed. Reads go through the process-wide buffer
    // (see sharedReadBuffer.ts) from the first byte.
    const options = { ...spec.connect, allowHalfOpen: true, onread: onreadOption(SocketConnection.onSharedRead) }
    const socket = new net.Socket(options)
    try {
      socket.connect(options)
    } catch (error) {
      socket.destroy()
      const detail = error instanceof Error ? error.message : String(error)
      return resume(Effect.fail(new ConnectError({ reason: "Failed", uri: spec.uri, code: "EINVAL", detail, stage: spec.stage, cause: error })))
    }
    const onError = (error: Error) => {
      socket.off("connect", onConnect)
      socket.destroy()
      const { code, detail } = describe(error, "ECONNREFUSED")
      resume(Effect.fail(new ConnectError({ reason: "Failed", uri: spec.uri, code, detail, stage: spec.stage, cause: error })))
    }
    const onConnect = () => {
      socket.off("error", onError)
      resume(Effect.succeed(new SocketConnection(socket, spec.addresses, spec.readHighWaterMark ?? DEFAULT_READ_HIGH_WATER_MARK)))
    }
    socket.once("error", onError)
    socket.once("connect", onConnect)
    return Effect.sync(() => {
      socket.off("error", onError)
      socket.off("connect", onConnect)
      // A listener stays so that the error a destroyed, half-open socket may still emit is not uncaught.
      socket.on("error", () => {})
      socket.destroy()
    })
  })

/**
 * {@link dial}, with the connection closed when the caller's scope closes. As
 * `Effect.acquireRelease(Effect.interruptible(dial(spec)), (c) => c.close)`, without what
 * `acquireRelease` adds to run a release with the acquiring fiber's FiberRefs (a diff and a
 * patch of them per connection, ~8 µs), which `close` (destroy the socket, wait for "close")
 * does not read.
 */
export const dialScoped = (spec: DialSpec): Effect.Effect<Connection, ConnectError, Scope.Scope> =>
  Effect.flatMap(Effect.scope, (scope) =>
    Effect.uninterruptible(
      Effect.tap(Effect.interruptible(dial(spec)), (connection) => Scope.addFinalizer(scope, Effect.uninterruptible(connection.close)))
    ))
