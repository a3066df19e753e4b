import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import { pipe } from "effect/Function"
import * as Layer from "effect/Layer"
import * as Connection from "../src/Connection.js"
import * as Connector from "../src/Connector.js"
import * as FixedUriConnector from "../src/FixedUriConnector.js"
import { ConnectError } from "../src/SocketError.js"

/** A connector double that records the URIs it is asked for and refuses `unix:///missing.sock`. */
const recording = () => {
  const asked: Array<string> = []
  const connection = Connection.unsafeMakePair()[0]
  const connector = Connector.Connector.of({
    connect: (uri) =>
      Effect.suspend(() => {
        asked.push(uri)
        return uri === "unix:///missing.sock"
          ? Effect.fail(new ConnectError({ reason: "Failed", uri, code: "ENOENT", detail: "No such file or directory" }))
          : Effect.succeed(connection)
      })
  })
  return { asked, connection, connector }
}

describe("FixedUriConnector", () => {
  it.scoped("connects to the fixed URI whatever it is asked for, and returns the inner connection", () =>
    Effect.gen(function*() {
      const double = recording()
      const connection = yield* Connector.connect("localhost:80").pipe(
        Effect.provide(FixedUriConnector.layer("unix:///var/run/docker.sock").pipe(
          Layer.provide(Layer.succeed(Connector.Connector, double.connector))
        ))
      )
      assert.strictEqual(connection, double.connection)
      assert.deepStrictEqual(double.asked, ["unix:///var/run/docker.sock"])
    }))

  it.scoped("does so for every call, in both calling forms", () =>
    Effect.gen(function*() {
      const double = recording()
      const dataFirst = FixedUriConnector.withFixedUri(double.connector, "tcp://127.0.0.1:2375")
      const dataLast = pipe(double.connector, FixedUriConnector.withFixedUri("tcp://127.0.0.1:2376"))
      yield* dataFirst.connect("a:1")
      yield* dataFirst.connect("tls://b:2")
      yield* dataLast.connect("c:3")
      assert.deepStrictEqual(double.asked, ["tcp://127.0.0.1:2375", "tcp://127.0.0.1:2375", "tcp://127.0.0.1:2376"])
    }))

  it.scoped("passes the inner error through, naming the fixed URI", () =>
    Effect.gen(function*() {
      const double = recording()
      const error = yield* Effect.flip(FixedUriConnector.withFixedUri(double.connector, "unix:///missing.sock").connect("localhost:80"))
      assert.strictEqual(error.code, "ENOENT")
      assert.strictEqual(error.message, "Connection to unix:///missing.sock failed: No such file or directory (ENOENT)")
    }))
})
