#!/usr/bin/env node
/**
 * The `effect-socket` executable. Exit codes: 0 on success and after Ctrl-C/SIGTERM (once every
 * scope is closed), 1 when the command fails (its message is on stderr), 2 for a usage error.
 */
import * as ValidationError from "@effect/cli/ValidationError"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Cli from "./Cli.js"

const exitCode = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.match(exit, {
    onSuccess: () => 0,
    onFailure: (cause) =>
      Cause.isInterruptedOnly(cause)
        ? 0
        : Option.match(Cause.failureOption(cause), {
          onNone: () => 1,
          onSome: (error) => (ValidationError.isValidationError(error) ? 2 : 1)
        })
  })

Cli.run(process.argv).pipe(
  Effect.provide(NodeContext.layer),
  // Exit explicitly: a stdin still open for reading would otherwise keep the process alive.
  NodeRuntime.runMain({ disableErrorReporting: true, teardown: (exit) => process.exit(exitCode(exit)) })
)
