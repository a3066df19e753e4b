/**
 * Serves the key-value protocol of `KeyValue.ts` over TCP: one store, shared by every client.
 *
 *   $ node packages/examples/dist/41-key-value-server.js 127.0.0.1:8000
 *   $ node packages/examples/dist/42-key-value-client.js 127.0.0.1:8000 SET greeting hello world
 *   $ node packages/examples/dist/42-key-value-client.js 127.0.0.1:8000 GET greeting
 */
import { SocketServer } from "@effect-socket/node"
import { Server } from "@effect-socket/socket"
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import * as KeyValue from "./KeyValue.js"

const program = Effect.gen(function*() {
  const server = yield* SocketServer.make(process.argv[2] ?? "127.0.0.1:0")
  yield* Console.log(`Listening on ${server.address}`)
  const store = yield* KeyValue.makeStore
  yield* Server.serve(server, KeyValue.handler(store))
})

NodeRuntime.runMain(Effect.scoped(program))
