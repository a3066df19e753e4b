/**
 * What `effect-socket listen` does with the connections it accepts (`--mode`).
 */
import type { Connection } from "@effect-socket/socket/Connection"
import * as Server from "@effect-socket/socket/Server"
import type { ConnectionError, ServerError } from "@effect-socket/socket/SocketError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as Describe from "./describe.js"
import { info } from "./report.js"
import * as Stdio from "./stdio.js"

/** The modes, in the order `--help` lists them. */
export const modes = ["echo", "discard", "chat", "stdio"] as const

/** @see {@link modes} */
export type Mode = typeof modes[number]

type Handler<E> = (connection: Connection) => Effect.Effect<void, E, Scope.Scope>
/** A decoration of every connection handler (e.g. logging), whatever its error type. */
type Wrap = <E>(handler: Handler<E>) => Handler<E>

const nameOf = (connection: Connection) => Option.getOrElse(connection.remoteAddress, () => "unknown peer")

/** Writes back everything it reads; passes the peer's half-close on. */
const echo = (connection: Connection) => Stream.run(connection.read, connection.sink)

/** Reads and drops everything until the peer half-closes. */
const discard = (connection: Connection) => Stream.runDrain(connection.read)

/**
 * Chat messages waiting for a slow client: past this many, it misses the oldest ones rather
 * than stalling the room.
 */
const CHAT_BACKLOG = 1024

/**
 * Every line a client sends goes to every client, the sender included, as `peer: line`
 * (ReactPHP's chat example). Empty lines are ignored.
 */
const chat = (server: Server.Server, onConnection: Wrap) =>
  Effect.gen(function*() {
    const room = yield* PubSub.sliding<string>(CHAT_BACKLOG)
    yield* Server.serve(
      server,
      onConnection((connection) =>
        Effect.gen(function*() {
          const subscription = yield* PubSub.subscribe(room)
          yield* Effect.forkScoped(Stream.runForEach(Stream.fromQueue(subscription), connection.write))
          const name = nameOf(connection)
          yield* connection.read.pipe(
            Stream.decodeText(),
            Stream.splitLines,
            Stream.filter((line) => line.trim().length > 0),
            Stream.runForEach((line) => PubSub.publish(room, `${name}: ${line}\n`))
          )
        })
      )
    )
  })

/** The first connection, bridged to stdin/stdout as `connect` does; then the command ends. */
const stdio = (server: Server.Server, onConnection: Wrap) =>
  Effect.gen(function*() {
    const first = yield* Stream.runHead(server.connections)
    if (Option.isSome(first)) {
      yield* onConnection((connection) => Stdio.bridge(connection, Stdio.stdin, Stdio.stdout))(first.value).pipe(
        Effect.scoped,
        Effect.ensuring(first.value.close)
      )
    }
  })

/** With `verbose`, a handler that says when each connection opens and closes (on stderr). */
const announce = (verbose: boolean): Wrap => (handler) =>
  verbose
    ? (connection) => {
      const name = nameOf(connection)
      const session = Option.match(Describe.tlsSession(connection), { onNone: () => "", onSome: (text) => `, ${text}` })
      return info(`[${name} connected${session}]`).pipe(
        Effect.zipRight(handler(connection)),
        Effect.ensuring(info(`[${name} disconnected]`))
      )
    }
    : handler

/**
 * Runs `mode` on `server` until the server's scope closes (or, for `stdio`, until the first
 * connection ends).
 */
export const run = (
  mode: Mode,
  server: Server.Server,
  verbose: boolean
): Effect.Effect<void, ServerError | ConnectionError | Stdio.StdioError> => {
  const wrap = announce(verbose)
  switch (mode) {
    case "echo":
      return Server.serve(server, wrap(echo))
    case "discard":
      return Server.serve(server, wrap(discard))
    case "chat":
      return Effect.scoped(chat(server, wrap))
    case "stdio":
      return stdio(server, wrap)
  }
}
