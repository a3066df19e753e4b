import { ListenError } from "@effect-socket/socket/SocketError"
import { firstProblem, optionalIntegerProblem } from "@effect-socket/socket/internal/validate"
import * as Effect from "effect/Effect"

/** The numeric options the servers share. */
export interface ListenNumbers {
  readonly backlog?: number | undefined
  readonly readHighWaterMark?: number | undefined
  readonly keepAlive?: number | false | undefined
}

/**
 * Fails with `EINVAL` before anything listens when a numeric option is out of range:
 * `Failed to listen on "tcp://127.0.0.1:0": backlog must be a positive integer, got -1 (EINVAL)`.
 * A backlog of 0 is refused too: the accept queue it bounds could then hold nothing.
 */
export const checkListenOptions = (uri: string, options: ListenNumbers): Effect.Effect<void, ListenError> => {
  const problem = firstProblem(
    optionalIntegerProblem("backlog", options.backlog, 1),
    optionalIntegerProblem("readHighWaterMark", options.readHighWaterMark, 0),
    options.keepAlive === false ? undefined : optionalIntegerProblem("keepAlive", options.keepAlive, 0)
  )
  return problem === undefined ? Effect.void : Effect.fail(new ListenError({ reason: "Listen", uri, code: "EINVAL", detail: problem }))
}
