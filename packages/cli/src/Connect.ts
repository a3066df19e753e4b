/**
 * `effect-socket connect URI`: a netcat-like client. stdin goes to the connection and the
 * connection goes to stdout, byte for byte; stdin's EOF half-closes the connection; the command
 * ends when the peer closes its side: exit code 0, or 1 with the error's message on stderr.
 *
 * @since 0.1.0
 */
import * as NodeConnector from "@effect-socket/node/NodeConnector"
import * as Connector from "@effect-socket/socket/Connector"
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Describe from "./internal/describe.js"
import { info, invalidValue, reportFailure } from "./internal/report.js"
import * as Stdio from "./internal/stdio.js"

const uri = Args.text({ name: "uri" }).pipe(
  Args.withDescription(
    "Where to connect: tcp://host:port (the scheme may be omitted; host a name or an IP, IPv6 in brackets), " +
      "tls://host:port, unix:///path."
  )
)

const timeout = Options.float("timeout").pipe(
  Options.withDefault(60),
  Options.mapEffect((seconds) =>
    Number.isFinite(seconds) && seconds >= 0
      ? Effect.succeed(seconds)
      : Effect.fail(invalidValue(`--timeout must be a number of seconds, 0 or more (0: no limit), got ${seconds}`))
  ),
  Options.withDescription(
    "Give up on connecting (DNS, TCP and TLS handshakes included) after this many seconds (ETIMEDOUT); 0: no limit."
  )
)

const dns = Options.text("dns").pipe(
  Options.optional,
  Options.withDescription(
    "Resolve names with this DNS server (IP, IP:port or [IPv6]:port) instead of the system's. " +
      "localhost and names in /etc/hosts are still answered locally."
  )
)

const noHappyEyeballs = Options.boolean("no-happy-eyeballs").pipe(
  Options.withDescription("Connect to the first IPv4 address only, instead of racing IPv6 and IPv4 (RFC 8305).")
)

const ca = Options.fileText("ca").pipe(
  Options.optional,
  Options.withDescription("Trust the certificate authorities in this PEM file (instead of Node's bundled list) for tls:// URIs.")
)

const insecure = Options.boolean("insecure").pipe(
  Options.withDescription(
    "tls://: do not verify the server's certificate nor its name. The connection is encrypted but not authenticated: " +
      "anyone on the path can read it. For tests only; prefer --ca."
  )
)

const alpn = Options.text("alpn").pipe(
  Options.repeated,
  // A default marks it optional in --help (`[--alpn text...]`); none is the same as the default.
  Options.withDefault<ReadonlyArray<string>>([]),
  Options.withDescription("tls://: offer this ALPN protocol (e.g. http/1.1; repeat for more, in order of preference).")
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

/**
 * The `connect` command.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("connect", { uri, timeout, dns, noHappyEyeballs, ca, insecure, alpn, verbose }, (args) =>
  Effect.gen(function*() {
    if (args.insecure) {
      yield* info("Warning: --insecure: the server's certificate is not verified; the connection is not authenticated")
    }
    const connection = yield* Connector.connect(args.uri)
    if (args.verbose) yield* info(`Connected to ${Describe.connection(connection)}`)
    yield* Stdio.bridge(connection, Stdio.stdin, Stdio.stdout)
    if (args.verbose) yield* info(`Connection to ${args.uri} closed`)
  }).pipe(
    Effect.scoped,
    Effect.provide(NodeConnector.layer({
      timeout: args.timeout > 0 ? Duration.seconds(args.timeout) : false,
      dns: Option.getOrElse(args.dns, () => true),
      happyEyeballs: !args.noHappyEyeballs,
      tls: {
        ...Option.match(args.ca, { onNone: () => ({}), onSome: ([, pem]) => ({ ca: pem }) }),
        ...(args.insecure ? { verifyPeer: false, verifyPeerName: false } : {}),
        ...(args.alpn.length > 0 ? { alpnProtocols: args.alpn } : {})
      }
    })),
    reportFailure(args.verbose)
  )).pipe(
    Command.withDescription(
      "Connect to URI: stdin is sent to the connection and what the peer sends is written to stdout, byte for byte. " +
        "EOF on stdin half-closes the connection; the command ends when the peer closes (exit code 0) or on an error (exit code 1)."
    )
  )
