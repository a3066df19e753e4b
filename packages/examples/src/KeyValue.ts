/**
 * A tiny line-based key-value protocol, written against effect-socket's `Connection` and
 * `Connector` only, so that it is unit-tested without sockets (see test/KeyValue.test.ts,
 * which uses `Connection.makePair`, `MemoryNetwork` and scripted `Connector` doubles) and runs
 * on any transport (examples 41 and 42 run it over TCP).
 *
 * Requests and replies are one line each:
 * `SET key value` → `OK`; `GET key` → `VALUE value` or `NOT_FOUND`; anything else → `ERROR …`.
 * Keys are one word; values are the rest of the line.
 */
import type { Connection, SocketError } from "@effect-socket/socket"
import { Connector } from "@effect-socket/socket"
import { Chunk, Data, Duration, Effect, Option, Ref, Schedule, Stream } from "effect"

/** The server's state: one map shared by every connection. */
export type Store = Ref.Ref<ReadonlyMap<string, string>>

/** An empty store. */
export const makeStore: Effect.Effect<Store> = Ref.make<ReadonlyMap<string, string>>(new Map())

/** The reply to one request line. */
const reply = (store: Store, line: string): Effect.Effect<string> => {
  const [command = "", key = "", ...rest] = line.split(" ")
  if (command === "GET" && key.length > 0 && rest.length === 0) {
    return Effect.map(Ref.get(store), (map) => {
      const value = map.get(key)
      return value === undefined ? "NOT_FOUND" : `VALUE ${value}`
    })
  }
  if (command === "SET" && key.length > 0) {
    return Effect.as(Ref.update(store, (map) => new Map(map).set(key, rest.join(" "))), "OK")
  }
  return Effect.succeed(`ERROR unknown request: ${line}`)
}

/** Serves one connection: answers each request line until the client half-closes. */
export const handler = (store: Store) => (connection: Connection.Connection) =>
  connection.read.pipe(
    Stream.decodeText(),
    Stream.splitLines,
    Stream.runForEach((line) => Effect.flatMap(reply(store, line), (answer) => connection.write(`${answer}\n`)))
  )

/** The server said something the protocol does not allow, or closed before answering. */
export class ProtocolError extends Data.TaggedError("ProtocolError")<{ readonly request: string; readonly reply: string }> {
  override get message() {
    return this.reply.length === 0
      ? `No reply to "${this.request}": the server closed the connection`
      : `Unexpected reply to "${this.request}": ${this.reply}`
  }
}

/** A client session over one connection. */
export interface Client {
  readonly get: (key: string) => Effect.Effect<Option.Option<string>, ProtocolError | SocketError.ConnectionError>
  readonly set: (key: string, value: string) => Effect.Effect<void, ProtocolError | SocketError.ConnectionError>
}

/**
 * How connecting is retried: a refused or timed-out attempt (a server restarting, say) is tried
 * again after 100 ms, 200 ms, 400 ms; bad input (`EINVAL`) is not retried.
 */
export const retryPolicy = Schedule.exponential(Duration.millis(100)).pipe(Schedule.intersect(Schedule.recurs(3)))

const retriable = (error: SocketError.ConnectError) => error.reason === "Failed" || error.reason === "Timeout"

/**
 * Opens a session to `uri`, retrying the connection as {@link retryPolicy} says. The
 * connection belongs to the caller's scope.
 */
export const connect = (uri: string) =>
  Effect.gen(function*() {
    const connection = yield* Connector.connect(uri).pipe(Effect.retry({ schedule: retryPolicy, while: retriable }))
    // One reader for the whole session, one line per pull; `None` once the server has closed.
    const lines = yield* Stream.toPull(connection.read.pipe(Stream.decodeText(), Stream.splitLines, Stream.rechunk(1)))
    const readLine = lines.pipe(
      Effect.map(Chunk.head),
      Effect.catchAll(Option.match({ onNone: () => Effect.succeedNone, onSome: Effect.fail }))
    )
    const request = (line: string) =>
      Effect.gen(function*() {
        yield* connection.write(`${line}\n`)
        const answer = yield* readLine
        return yield* Option.match(answer, {
          onNone: () => Effect.fail(new ProtocolError({ request: line, reply: "" })),
          onSome: Effect.succeed
        })
      })
    const client: Client = {
      get: (key) =>
        Effect.flatMap(request(`GET ${key}`), (answer) =>
          answer === "NOT_FOUND"
            ? Effect.succeedNone
            : answer.startsWith("VALUE ")
            ? Effect.succeedSome(answer.slice("VALUE ".length))
            : Effect.fail(new ProtocolError({ request: `GET ${key}`, reply: answer }))),
      set: (key, value) =>
        Effect.flatMap(request(`SET ${key} ${value}`), (answer) =>
          answer === "OK" ? Effect.void : Effect.fail(new ProtocolError({ request: `SET ${key} ${value}`, reply: answer })))
    }
    return client
  })
