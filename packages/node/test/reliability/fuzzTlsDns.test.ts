/**
 * Bad input, continued: the URIs and options of the TLS and DNS modules (TlsServer, TlsConnector,
 * Tls.upgrade, SocketServer's tls://, NodeResolver, DnsConnector, HappyEyeballsConnector),
 * fuzzed with fast-check under the rules of fuzzing.ts. A server that was made must also serve:
 * a real client's attempt ends (connected or a typed error) instead of hanging. Only loopback is
 * ever contacted: DNS goes to a scripted server, names resolve to 127.0.0.1 or nowhere.
 */
import * as NodeResolver from "@effect-socket/node/NodeResolver"
import * as SocketServer from "@effect-socket/node/SocketServer"
import * as TcpConnector from "@effect-socket/node/TcpConnector"
import * as TcpServer from "@effect-socket/node/TcpServer"
import * as Tls from "@effect-socket/node/Tls"
import * as TlsConnector from "@effect-socket/node/TlsConnector"
import * as TlsServer from "@effect-socket/node/TlsServer"
import * as Connection from "@effect-socket/socket/Connection"
import { Connector } from "@effect-socket/socket/Connector"
import * as DnsConnector from "@effect-socket/socket/DnsConnector"
import * as HappyEyeballsConnector from "@effect-socket/socket/HappyEyeballsConnector"
import type { Server } from "@effect-socket/socket/Server"
import * as ServerModule from "@effect-socket/socket/Server"
import * as SocketUri from "@effect-socket/socket/SocketUri"
import { describe, it } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as fc from "fast-check"
import * as DnsServer from "../fixtures/DnsServer.js"
import {
  assertVaried,
  booleanOption,
  hostPortUri,
  isLoopback,
  numberOption,
  oddNumbers,
  optionSets,
  property,
  RUNS,
  tails,
  tally,
  tcpListenIsSafe,
  text,
  tryInput,
  watchSocketHandles
} from "./fuzzing.js"
import { certificates, TIMEOUT } from "./support.js"

watchSocketHandles()

/** Durations as the type allows them (numbers of milliseconds, bigint nanoseconds, tuples, strings, Durations), odd ones included, and anything. */
const durationOption = fc.oneof(
  fc.constant(undefined),
  fc.integer({ min: 1, max: 5_000 }),
  oddNumbers,
  fc.bigInt({ min: -10n, max: 10n ** 10n }),
  fc.tuple(oddNumbers, oddNumbers),
  fc.tuple(fc.oneof(oddNumbers, fc.nat(100)), fc.constantFrom("millis", "seconds", "nanos", "minutes", "weeks")).map(([n, unit]) => `${n} ${unit}`),
  fc.constantFrom(Duration.zero, Duration.infinity, Duration.millis(200)),
  fc.anything()
)

const versions = fc.constantFrom("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
const pemLike = (valid: string) => fc.oneof(fc.constant(valid), text, fc.uint8Array({ maxLength: 64 }), fc.anything())

/** The options every TLS side has: certificates, keys, CAs, versions, ALPN. */
const contextOptions = (certs: { readonly cert: string; readonly key: string; readonly ca: string; readonly otherKey: string }) => ({
  cert: pemLike(certs.cert),
  key: fc.oneof(pemLike(certs.key), fc.constant(certs.otherKey)),
  pem: pemLike(`${certs.cert}${certs.key}`),
  passphrase: fc.oneof(text, fc.anything()),
  ca: fc.oneof(pemLike(certs.ca), fc.array(pemLike(certs.ca), { maxLength: 3 })),
  minVersion: fc.oneof(versions, text, fc.anything()),
  maxVersion: fc.oneof(versions, text, fc.anything()),
  alpnProtocols: fc.oneof(fc.array(text, { maxLength: 4 }), fc.constant(["x".repeat(256)]), fc.anything())
})

/** A TLS client over TCP that trusts the test CA. */
const trustingConnector = (ca: string) => Effect.provide(Connector, Layer.provide(TlsConnector.layer({ ca }), TcpConnector.layer))

/** A real client's attempt at `server`, which must end, one way or the other, rather than hang. */
const attempt = (server: Server, connector: Connector["Type"]) =>
  Effect.gen(function*() {
    yield* Effect.forkScoped(ServerModule.serve(server, (connection) => connection.write("hello")))
    yield* Effect.ignore(Effect.scoped(connector.connect(server.address)))
  })

describe("bad input (TLS and DNS)", () => {
  // TlsServer.listen checks the options before it listens (TlsServer.make shares the checks).
  it.live(`TlsServer.listen: ${RUNS} option sets, each server tried by a real client`, () =>
    Effect.scoped(Effect.gen(function*() {
      const certs = yield* certificates
      const client = yield* trustingConnector(certs.ca)
      const tls = contextOptions({ cert: certs.server.cert, key: certs.server.key, ca: certs.ca, otherKey: certs.other.key })
      const options = optionSets(
        { cert: fc.constant(certs.server.cert), key: fc.constant(certs.server.key), handshakeTimeout: fc.integer({ min: 100, max: 5_000 }), maxConcurrentHandshakes: fc.integer({ min: 1, max: 1_000 }) },
        {
          ...tls,
          serverNames: fc.dictionary(text, fc.record({ cert: tls.cert, key: tls.key }), { maxKeys: 2 }),
          requestCert: booleanOption,
          handshakeTimeout: durationOption,
          maxConcurrentHandshakes: numberOption
        }
      )
      const counts = tally()
      yield* property(options, async (options) => {
        await tryInput(
          Effect.flatMap(TlsServer.listen("tls://127.0.0.1:0", TcpServer.make(0), options as TlsServer.Options), (server) => attempt(server, client)),
          "ListenError",
          options,
          counts
        )
      })
      assertVaried(counts)
    })), TIMEOUT)

  it.live(`TlsConnector: ${RUNS} URIs and option sets`, () =>
    Effect.scoped(Effect.gen(function*() {
      const certs = yield* certificates
      const server = yield* Effect.flatMap(TcpServer.make(0), (tcp) => TlsServer.make(tcp, { cert: certs.server.cert, key: certs.server.key }))
      yield* Effect.forkScoped(ServerModule.serve(server, (connection) => connection.write("hello")))
      const own = server.address.slice("tls://".length)
      const target = fc.oneof(
        fc.tuple(fc.constantFrom("", "tls://", "TLS://", "tcp://"), fc.constant(own), fc.oneof(tails, fc.constantFrom("?hostname=localhost", "?hostname=wrong.test"))).map((p) => p.join("")),
        hostPortUri
      )
      const options = optionSets(
        { ca: fc.constant(certs.ca), verifyPeer: fc.boolean(), verifyPeerName: fc.boolean(), handshakeTimeout: fc.integer({ min: 100, max: 5_000 }) },
        {
          ...contextOptions({ cert: certs.client.cert, key: certs.client.key, ca: certs.ca, otherKey: certs.other.key }),
          verifyPeer: booleanOption,
          verifyPeerName: booleanOption,
          handshakeTimeout: durationOption
        }
      )
      const counts = tally()
      yield* property(fc.tuple(target, options), async ([uri, options]) => {
        const parsed = Either.getRight(Effect.runSync(Effect.either(SocketUri.parseClient(uri.includes("://") ? uri : `tls://${uri}`))))
        // Valid targets other than our own server are not dialled.
        if (parsed._tag === "Some" && SocketUri.isIP(parsed.value.host) && SocketUri.formatHostPort(parsed.value.host, parsed.value.port) !== own) return
        const connect = Effect.flatMap(
          Effect.provide(Connector, Layer.provide(TlsConnector.layer(options as TlsConnector.Options), TcpConnector.layer)),
          (connector) => connector.connect(uri)
        )
        await tryInput(connect, "ConnectError", [uri, options], counts)
      })
      assertVaried(counts, ["succeeded", "refused", "failed"])
    })), TIMEOUT)

  it.live(`Tls.upgrade: ${RUNS} option sets, either role, on a connection that is not a socket`, () =>
    Effect.scoped(Effect.gen(function*() {
      const certs = yield* certificates
      const options = fc.record({
        ...contextOptions({ cert: certs.server.cert, key: certs.server.key, ca: certs.ca, otherKey: certs.other.key }),
        // Names are only ever shown in messages: any text, but text (another type is a type error).
        peerName: text,
        uri: text,
        address: text,
        unread: fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.anything()),
        requestCert: booleanOption,
        handshakeTimeout: durationOption
      }, { requiredKeys: [] })
      const counts = tally()
      yield* property(fc.tuple(fc.constantFrom("client" as const, "server" as const), options), async ([role, options]) => {
        const input = [role, options]
        await (role === "client"
          ? tryInput(Effect.flatMap(Connection.makePair(), ([c]) => Tls.upgrade(c, { ...options, role } as Tls.ClientOptions)), "ConnectError", input, counts)
          : tryInput(Effect.flatMap(Connection.makePair(), ([c]) => Tls.upgrade(c, { ...options, role } as Tls.ServerOptions)), "ServerError", input, counts))
      })
      assertVaried(counts, ["refused"])
    })), TIMEOUT)

  it.live(`SocketServer.make with tls://: ${RUNS} URIs and option groups`, () =>
    Effect.scoped(Effect.gen(function*() {
      const certs = yield* certificates
      const client = yield* trustingConnector(certs.ca)
      const uri = fc.oneof(
        fc.tuple(fc.constantFrom("tls://", "TLS://"), fc.constantFrom("127.0.0.1:0", "[::1]:0", "0", "127.0.0.1"), tails).map((p) => p.join("")),
        hostPortUri.map((u) => u.replace(/^[a-z]*:\/\//i, "tls://"))
      )
      const tlsGroup = optionSets(
        { cert: fc.constant(certs.server.cert), key: fc.constant(certs.server.key) },
        { cert: pemLike(certs.server.cert), key: pemLike(certs.server.key), handshakeTimeout: durationOption, maxConcurrentHandshakes: numberOption }
      )
      const counts = tally()
      yield* property(fc.tuple(uri, tlsGroup), async ([uri, tls]) => {
        if (!tcpListenIsSafe(uri.replace(/^tls:\/\//i, "tcp://"))) return
        const made = Effect.flatMap(SocketServer.make(uri, { tls } as SocketServer.Options), (server) => attempt(server, client))
        await tryInput(made, "ListenError", [uri, tls], counts)
      })
      assertVaried(counts)
    })), TIMEOUT)

  it.live(`NodeResolver: ${RUNS} option sets, and lookups of random names at a scripted server`, () =>
    Effect.scoped(Effect.gen(function*() {
      const dns = yield* DnsServer.make({ "known.test": { A: { answers: ["127.0.0.1"] }, AAAA: { answers: ["::1"] } } })
      const options = optionSets(
        { servers: fc.constant([dns.address]), timeout: fc.integer({ min: 50, max: 500 }), tries: fc.integer({ min: 1, max: 2 }), hostsFile: fc.constant(false) },
        {
          servers: fc.oneof(fc.constant([dns.address]), fc.array(fc.oneof(text, fc.constantFrom("127.0.0.1", "[::1]:53", "::1", "1.2.3.4:99999", "")), { maxLength: 3 }), fc.anything()),
          timeout: durationOption,
          tries: numberOption,
          hostsFile: fc.oneof(fc.constant(false), fc.constantFrom("/nonexistent/hosts", ""), fc.anything())
        }
      )
      const name = fc.oneof(fc.constantFrom("known.test", "unknown.test", "localhost", "a.localhost", "", ".", "..", "x".repeat(300), "127.0.0.1", "::1"), text)
      const counts = tally()
      yield* property(fc.tuple(options, name, fc.constantFrom(4 as const, 6 as const)), async ([options, host, family]) => {
        const resolver = NodeResolver.make(options as NodeResolver.Options)
        // Lookups go to the scripted server only (which answers every question at once).
        const ours = Array.isArray(options.servers) && options.servers.length === 1 && options.servers[0] === dns.address
        const lookup = ours ? Effect.flatMap(resolver, (r) => r.resolve(host, family)) : resolver
        await tryInput(lookup, "DnsError", [options, host, family], counts)
      })
      assertVaried(counts, ["succeeded", "refused", "failed"])
    })), TIMEOUT)

  for (const kind of ["DnsConnector", "HappyEyeballsConnector"] as const) {
    it.live(`${kind}: ${RUNS} URIs${kind === "HappyEyeballsConnector" ? " and delays" : ""}, names resolved by a scripted server`, () =>
      Effect.scoped(Effect.gen(function*() {
        const server = yield* TcpServer.make(0)
        yield* Effect.forkScoped(ServerModule.serve(server, (connection) => connection.write("hello")))
        const port = Number(new URL(server.address).port)
        const dns = yield* DnsServer.make({ "ours.test": { A: { answers: ["127.0.0.1"] }, AAAA: { answers: ["::1"] } } })
        const resolver = yield* NodeResolver.make({ servers: [dns.address], hostsFile: false, timeout: 200, tries: 1 })
        const tcp = Connector.of({ connect: (uri) => TcpConnector.connect(uri) })
        const target = fc.oneof(
          fc.tuple(fc.constantFrom("", "tcp://", "TCP://", "tls://"), fc.constantFrom("ours.test", "OURS.test", "ours.test.", "other.test"), fc.constant(`:${port}`), tails).map((p) => p.join("")),
          hostPortUri
        )
        const delays = kind === "DnsConnector"
          ? fc.constant({})
          : fc.record({
            // In-type durations only: a string that is no duration is a type error the connector does not check.
            resolutionDelay: fc.oneof(fc.constant(undefined), oddNumbers, fc.constantFrom(Duration.zero, Duration.infinity, "10 millis")),
            connectionAttemptDelay: fc.oneof(fc.constant(undefined), oddNumbers, fc.constantFrom(Duration.zero, Duration.infinity, "10 millis"))
          }, { requiredKeys: [] })
        const counts = tally()
        yield* property(fc.tuple(target, delays), async ([uri, delays]) => {
          const parsed = Either.getRight(Effect.runSync(Effect.either(SocketUri.parseClient(uri.includes("://") ? uri : `tcp://${uri}`))))
          if (parsed._tag === "Some") {
            const { host } = parsed.value
            // Only our server is dialled: an IP literal or a name that resolves (locally or by
            // the scripted server) to loopback, on another port, is not tried.
            const local = isLoopback(host) || /(^|\.)localhost\.?$/i.test(host) || /^ours\.test\.?$/i.test(host)
            if ((SocketUri.isIP(host) || local) && !(local && parsed.value.port === port)) return
          }
          const connector = kind === "DnsConnector"
            ? DnsConnector.withResolver(tcp, resolver)
            : HappyEyeballsConnector.withResolver(tcp, resolver, delays as HappyEyeballsConnector.Options)
          await tryInput(connector.connect(uri), "ConnectError", [uri, delays], counts)
        })
        assertVaried(counts, ["succeeded", "refused", "failed"])
      })), TIMEOUT)
  }
})
