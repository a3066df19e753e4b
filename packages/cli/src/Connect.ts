/**
 * `effect-socket connect URI`: a netcat-like client. stdin goes to the connection and the
 * connection goes to stdout, byte for byte; stdin's EOF half-closes the connection; the command
 * ends when the peer closes its side: exit code 0, or 1 with the error's message on stderr.
 *
 * @since 0.1.0
 */
import * as Connector from "@effect-socket/socket/Connector"
import type { Connection } from "@effect-socket/socket/Connection"
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Connectors from "./internal/connectors.js"
import { info, reportFailure } from "./internal/report.js"
import * as Stdio from "./internal/stdio.js"

const uri = Args.text({ name: "uri" }).pipe(
  Args.withDescription("Where to connect: tcp://IP:port (the scheme may be omitted), tcp://[::1]:port, unix:///path.")
)

const timeout = Options.float("timeout").pipe(
  Options.optional,
  Options.withDescription("Give up on connecting after this many seconds (ETIMEDOUT); default: as long as the OS tries.")
)

/**
 * `--verbose`: addresses and family on stderr; full causes with stack traces on failure.
 *
 * @since 0.1.0
 * @category options
 */
export const verbose = Options.boolean("verbose").pipe(
  Options.withAlias("v"),
  Options.withDescription("Print addresses and protocol details to stderr, and full error causes with stack traces.")
)

const familyOf = (address: string) =>
  address.startsWith("unix:") ? "Unix domain socket" : address.includes("[") ? "IPv6" : "IPv4"

/** One line on stderr about the connection that was opened. */
const describe = (connection: Connection) => {
  const remote = Option.getOrElse(connection.remoteAddress, () => "unknown")
  const from = Option.match(connection.localAddress, { onNone: () => "", onSome: (local) => ` from ${local}` })
  return info(`Connected to ${remote}${from} (${familyOf(remote)})`)
}

/**
 * The `connect` command.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("connect", { uri, timeout, verbose }, (args) =>
  Effect.gen(function*() {
    const connection = yield* Connector.connect(args.uri)
    if (args.verbose) yield* describe(connection)
    yield* Stdio.bridge(connection, Stdio.stdin, Stdio.stdout)
    if (args.verbose) yield* info(`Connection to ${args.uri} closed`)
  }).pipe(
    Effect.scoped,
    Effect.provide(Connectors.layer({ timeout: Option.map(args.timeout, Duration.seconds) })),
    reportFailure(args.verbose)
  )).pipe(
    Command.withDescription(
      "Connect to URI: stdin is sent to the connection and what the peer sends is written to stdout, byte for byte. " +
        "EOF on stdin half-closes the connection; the command ends when the peer closes (exit code 0) or on an error (exit code 1)."
    )
  )
