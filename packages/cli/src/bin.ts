#!/usr/bin/env node
/**
 * The `effect-socket` command.
 */
import { Command } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import * as Effect from "effect/Effect"
import * as Demo from "./demo/Demo.js"

const demo = Command.make("demo", {}, () => Demo.run).pipe(
  Command.withDescription("Runs every check on loopback (TCP v4/v6 …) and prints a report; exits non-zero if one fails.")
)

const command = Command.make("effect-socket").pipe(
  Command.withDescription("Effect-native TCP/TLS/Unix sockets: connect, listen, demo."),
  Command.withSubcommands([demo])
)

const cli = Command.run(command, { name: "effect-socket", version: "0.1.0" })

cli(process.argv).pipe(Effect.provide(NodeContext.layer), NodeRuntime.runMain({ disableErrorReporting: true }))
