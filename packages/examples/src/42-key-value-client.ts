/**
 * A client of the key-value protocol of `KeyValue.ts`: `SET key value…` or `GET key`, with the
 * connection retried (100, 200, 400 ms) while the server is not there yet.
 *
 *   $ node packages/examples/dist/42-key-value-client.js 127.0.0.1:8000 SET greeting hello world
 *   OK
 *   $ node packages/examples/dist/42-key-value-client.js 127.0.0.1:8000 GET greeting
 *   hello world
 */
import { NodeConnector } from "@effect-socket/node"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Option } from "effect"
import * as KeyValue from "./KeyValue.js"

const [uri = "127.0.0.1:8000", command = "", key = "", ...value] = process.argv.slice(2)

const program = Effect.gen(function*() {
  const client = yield* KeyValue.connect(uri)
  if (command === "SET") {
    yield* client.set(key, value.join(" "))
    yield* Console.log("OK")
  } else if (command === "GET") {
    const found = yield* client.get(key)
    yield* Option.match(found, { onNone: () => Console.log("(not found)"), onSome: Console.log })
  } else {
    return yield* Effect.fail(new Error("Usage: 42-key-value-client.js URI (SET key value… | GET key)"))
  }
}).pipe(
  Effect.tapError((error) => Console.error(`Error: ${error.message}`))
)

NodeRuntime.runMain(program.pipe(Effect.scoped, Effect.provide(NodeConnector.layer())), {
  disableErrorReporting: true
})
