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
  Args.withDescription(
    "Where to connect: tcp://host:port (the scheme may be omitted; host a name or an IP, IPv6 in brackets), unix:///path."
  )
)

const timeout = Options.float("timeout").pipe(
  Options.optional,
  Options.withDescription("Give up on connecting after this many seconds (ETIMEDOUT); default: as long as the OS tries.")
)

const dns = Options.text("dns").pipe(
  Options.repeated,
  Options.withDescription(
    "Resolve names with this DNS server (IP or IP:port; repeat for more) instead of the system's. " +
      "localhost and names in /etc/hosts are answered locally."
  )
)

const noHappyEyeballs = Options.boolean("no-happy-eyeballs").pipe(
  Options.withDescription("Connect to the first IPv4 address only, instead of racing IPv6 and IPv4 (RFC 8305).")
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
export const command = Command.make("connect", { uri, timeout, dns, noHappyEyeballs, verbose }, (args) =>
  Effect.gen(function*() {
    const connection = yield* Connector.connect(args.uri)
    if (args.verbose) yield* describe(connection)
    yield* Stdio.bridge(connection, Stdio.stdin, Stdio.stdout)
    if (args.verbose) yield* info(`Connection to ${args.uri} closed`)
  }).pipe(
    Effect.scoped,
    Effect.provide(Connectors.layer({
      timeout: Option.map(args.timeout, Duration.seconds),
      dns: args.dns,
      happyEyeballs: !args.noHappyEyeballs
    })),
    reportFailure(args.verbose)
  )).pipe(
    Command.withDescription(
      "Connect to URI: stdin is sent to the connection and what the peer sends is written to stdout, byte for byte. " +
        "EOF on stdin half-closes the connection; the command ends when the peer closes (exit code 0) or on an error (exit code 1)."
    )
  )
