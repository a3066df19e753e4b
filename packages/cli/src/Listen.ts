/**
 * `effect-socket listen URI`: a server on the command line. It prints the bound address on
 * stderr, serves connections in the chosen `--mode` and, on Ctrl-C (SIGINT) or SIGTERM, closes
 * the server and every connection through their scopes and exits with code 0.
 *
 * @since 0.1.0
 */
import * as LimitingServer from "@effect-socket/socket/LimitingServer"
import * as Args from "@effect/cli/Args"
import * as Command from "@effect/cli/Command"
import * as Options from "@effect/cli/Options"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Stream from "effect/Stream"
import { verbose } from "./Connect.js"
import * as Modes from "./internal/modes.js"
import { info, invalidValue, reportFailure, usageError } from "./internal/report.js"
import * as Servers from "./internal/servers.js"

const uri = Args.text({ name: "uri" }).pipe(
  Args.withDescription(
    "Where to listen: tcp://IP:port, IP:port, a bare port (on 127.0.0.1; port 0 picks a free one), " +
      "tls://IP:port (with --cert), unix:///path (the socket file is removed on exit) or fd://N (an inherited listening socket)."
  )
)

const cert = Options.fileText("cert").pipe(
  Options.optional,
  Options.withDescription("tls://: the server's certificate chain in PEM, and its private key too unless --key is given.")
)

const key = Options.fileText("key").pipe(
  Options.optional,
  Options.withDescription("tls://: the certificate's private key in PEM.")
)

const mode = Options.choice("mode", Modes.modes).pipe(
  Options.withDefault("echo"),
  Options.withDescription(
    "echo: send every byte back; discard: read and drop; chat: send every line to every client; " +
      "stdio: bridge the first connection to stdin/stdout, then exit."
  )
)

const limit = Options.integer("limit").pipe(
  Options.mapEffect((n) => n >= 1 ? Effect.succeed(n) : Effect.fail(invalidValue(`--limit must be a positive number of connections, got ${n}`))),
  Options.optional,
  Options.withDescription("Serve at most N connections at once; past it, new ones are rejected (see --pause-on-limit).")
)

const pauseOnLimit = Options.boolean("pause-on-limit").pipe(
  Options.withDescription("With --limit: instead of rejecting, stop accepting until a connection closes.")
)

/** Usage errors no single option can see: options that need another one, or a tls:// URI. */
const checkCombinations = (args: {
  readonly uri: string
  readonly cert: Option.Option<unknown>
  readonly key: Option.Option<unknown>
  readonly limit: Option.Option<number>
  readonly pauseOnLimit: boolean
}) => {
  const tls = /^tls:\/\//i.test(args.uri)
  if (!tls && (Option.isSome(args.cert) || Option.isSome(args.key))) {
    return usageError(`--cert and --key are for tls:// URIs only, not ${args.uri}`)
  }
  if (Option.isSome(args.key) && Option.isNone(args.cert)) return usageError("--key needs --cert (the certificate it belongs to)")
  if (args.pauseOnLimit && Option.isNone(args.limit)) return usageError("--pause-on-limit needs --limit")
  return Effect.void
}

/**
 * The `listen` command.
 *
 * @since 0.1.0
 * @category commands
 */
export const command = Command.make("listen", { uri, cert, key, mode, limit, pauseOnLimit, verbose }, (args) =>
  Effect.zipRight(
    checkCombinations(args),
    Effect.gen(function*() {
      const certificate = Option.map(args.cert, ([, cert]): Servers.Certificate =>
        Option.match(args.key, { onNone: () => ({ pem: cert }), onSome: ([, key]) => ({ cert, key }) }))
      const bound = yield* Servers.make(args.uri, Option.getOrUndefined(certificate))
      const server = Option.isSome(args.limit)
        ? yield* LimitingServer.make(bound, { limit: args.limit.value, pauseOnLimit: args.pauseOnLimit })
        : bound
      yield* info(`Listening on ${server.address}`)
      yield* Effect.forkScoped(Stream.runForEach(server.errors, (error) => info(`Error: ${error.message}`)))
      yield* Modes.run(args.mode, server, args.verbose)
    }).pipe(
      Effect.scoped,
      reportFailure(args.verbose)
    )
  )).pipe(
    Command.withDescription(
      "Listen on URI and serve every connection in the chosen mode until Ctrl-C, which closes everything and exits with code 0."
    )
  )
