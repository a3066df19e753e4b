/**
 * The `effect-socket` command: `connect`, `listen` and `demo`.
 *
 * @since 0.1.0
 */
import * as Command from "@effect/cli/Command"
import * as Connect from "./Connect.js"
import * as Demo from "./demo/Demo.js"
import { reportFailure } from "./internal/report.js"
import * as Listen from "./Listen.js"

const demo = Command.make("demo", {}, () => reportFailure(false)(Demo.run)).pipe(
  Command.withDescription("Run every check on loopback and print a report; exit code 1 if one fails.")
)

/**
 * The root command.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("effect-socket").pipe(
  Command.withDescription("Effect-native TCP/TLS/Unix sockets from the terminal: connect, listen, demo."),
  Command.withSubcommands([Connect.command, Listen.command, demo])
)

/**
 * Runs the command line `argv` (as `process.argv`: runtime, script, then arguments).
 *
 * @since 0.1.0
 * @category running
 */
export const run = Command.run(command, { name: "effect-socket", version: "0.1.0" })

