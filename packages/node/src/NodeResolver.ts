/**
 * A `Resolver` on Node's `dns.Resolver` (c-ares), which sends DNS queries itself instead of
 * calling the blocking `getaddrinfo` on libuv's small thread pool. c-ares only speaks DNS, so
 * this module adds what a system resolver does before that:
 *
 * - IP literals answer themselves;
 * - `localhost` and every `*.localhost` name resolve to `127.0.0.1` and `::1` without a query
 *   (RFC 6761 §6.3), whatever the hosts file lists;
 * - names in the hosts file are answered from it (read once, when the resolver is made); a name
 *   listed only with the other family's addresses goes to DNS for this one, as glibc does.
 *
 * Every lookup gets a c-ares channel of its own, because `Resolver.cancel()` cancels every
 * query of a channel: so interrupting one lookup cancels exactly its query.
 *
 * @since 0.1.0
 */
import { Resolver } from "@effect-socket/socket/Resolver"
import type { Answer } from "@effect-socket/socket/Resolver"
import { DnsError } from "@effect-socket/socket/SocketError"
import type * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as dns from "node:dns"
import * as fs from "node:fs/promises"
import * as net from "node:net"
import * as HostsFile from "./internal/hostsFile.js"
import type { Rule } from "@effect-socket/socket/internal/options"
import { firstInvalidOption, MAX_INT32 } from "@effect-socket/socket/internal/options"

/**
 * Options of {@link make} and {@link layer}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * The DNS servers to ask, in order: `"192.0.2.53"`, `"192.0.2.53:5353"`, `"2001:db8::53"`,
   * `"[2001:db8::53]:5353"`. Default: the system's, from `/etc/resolv.conf`.
   */
  readonly servers?: ReadonlyArray<string>
  /** How long the first try waits for an answer; later tries wait longer. Default 2 seconds (c-ares's). */
  readonly timeout?: Duration.DurationInput
  /** How many times each server is tried before the lookup fails with `ETIMEOUT`. Default 4. */
  readonly tries?: number
  /** The hosts file to answer from first. Default `/etc/hosts`; `false` for none. */
  readonly hostsFile?: string | false
}

/** c-ares error codes → the `DnsError` reason and ReactPHP-like words. */
const reasons: Record<string, readonly [DnsError["reason"], string]> = {
  ENOTFOUND: ["NotFound", "Non-Existent Domain / NXDOMAIN"],
  ENODATA: ["NoData", "No records of this type"],
  ESERVFAIL: ["ServerFailure", "Server Failure / SERVFAIL"],
  EREFUSED: ["Refused", "Query Refused / REFUSED"],
  ETIMEOUT: ["Timeout", "Query timed out"],
  EBADNAME: ["Invalid", "Misformatted domain name"],
  ECONNREFUSED: ["Other", "Could not contact the DNS servers"]
}

const toDnsError = (host: string, family: 4 | 6, error: NodeJS.ErrnoException): DnsError => {
  const code = error.code ?? "EIO"
  const [reason, detail] = reasons[code] ?? ["Other", error.message]
  return new DnsError({ reason, host, family, code, detail, cause: error })
}

const noData = (host: string, family: 4 | 6) =>
  new DnsError({ reason: "NoData", host, family, code: "ENODATA", detail: reasons.ENODATA![1] })

/** RFC 6761 §6.3: the loopback addresses, for `localhost` and its subdomains. */
const LOOPBACK = { 4: "127.0.0.1", 6: "::1" } as const

/** Answers from the hosts file or RFC 6761 carry no TTL; 0 keeps a cache from holding them. */
const local = (addresses: ReadonlyArray<string>): ReadonlyArray<Answer> =>
  addresses.map((address) => ({ address, ttl: Duration.zero }))

const readHostsFile = (path: string | false) =>
  path === false
    ? Effect.succeed<HostsFile.HostsTable>(new Map())
    : Effect.tryPromise(() => fs.readFile(path, "utf8")).pipe(
      Effect.map(HostsFile.parse),
      // A machine without a hosts file (or one we may not read) simply has no local names.
      Effect.catchAll((error) => Effect.as(Effect.logDebug(`hosts file ${path} not read`, error), new Map()))
    )

/**
 * Makes the resolver: reads the hosts file and checks `servers`. Fails with a `DnsError`
 * (`Invalid`, `EINVAL`), before any query: with the address in `server` when a server address
 * is malformed or its port is not 1–65535 (`Invalid DNS server address "127.0.0.1:99999": Port
 * must be an integer from 1 to 65535, got 99999 (EINVAL)`); with the option's name in `option`
 * when `timeout` is not a positive duration or `tries` not an integer from 1 (c-ares would throw
 * at the first lookup): `Invalid option tries: 0, expected an integer from 1 to 2147483647 (EINVAL)`.
 *
 * `resolve`/`resolveWithTtl` fail with `NotFound` (`ENOTFOUND`, NXDOMAIN), `NoData` (`ENODATA`),
 * `ServerFailure` (`ESERVFAIL`), `Refused` (`EREFUSED`), `Timeout` (`ETIMEOUT`, after `tries`
 * tries of `timeout` per server), `Invalid` (`EINVAL` for an empty or over-long name,
 * `EBADNAME`) or `Other`. Interrupting a lookup cancels its query.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (options: Options = {}): Effect.Effect<Context.Tag.Service<Resolver>, DnsError> =>
  Effect.gen(function*() {
    const invalid = firstInvalidOption(options, OPTION_RULES)
    if (invalid !== undefined) {
      return yield* new DnsError({ reason: "Invalid", host: "", option: invalid.name, code: "EINVAL", detail: invalid.detail })
    }
    const channelOptions: dns.ResolverOptions = {
      // c-ares takes an int of milliseconds.
      ...(options.timeout === undefined ? {} : { timeout: Math.min(MAX_INT32, Math.max(1, Math.round(Duration.toMillis(options.timeout)))) }),
      ...(options.tries === undefined ? {} : { tries: options.tries })
    }
    const servers = options.servers === undefined ? undefined : yield* checkServers(options.servers)
    const hosts = yield* readHostsFile(options.hostsFile ?? "/etc/hosts")

    const query = (name: string, family: 4 | 6) =>
      Effect.async<ReadonlyArray<Answer>, DnsError>((resume) => {
        const channel = new dns.Resolver(channelOptions)
        if (servers !== undefined) channel.setServers(servers)
        const done = (error: NodeJS.ErrnoException | null, records: ReadonlyArray<dns.RecordWithTtl>) =>
          resume(
            error !== null
              ? Effect.fail(toDnsError(name, family, error))
              : records.length === 0
              ? Effect.fail(noData(name, family))
              : Effect.succeed(records.map((record) => ({ address: record.address, ttl: Duration.seconds(record.ttl) })))
          )
        if (family === 4) channel.resolve4(name, { ttl: true }, done)
        else channel.resolve6(name, { ttl: true }, done)
        return Effect.sync(() => channel.cancel())
      })

    const resolveWithTtl = (host: string, family: 4 | 6): Effect.Effect<ReadonlyArray<Answer>, DnsError> => {
      const ipFamily = net.isIP(host)
      if (ipFamily !== 0) return ipFamily === family ? Effect.succeed(local([host])) : Effect.fail(noData(host, family))
      const name = HostsFile.normalize(host)
      if (name.length === 0 || name.length > 253) {
        return Effect.fail(new DnsError({ reason: "Invalid", host, family, code: "EINVAL", detail: "Not a host name" }))
      }
      if (name === "localhost" || name.endsWith(".localhost")) return Effect.succeed(local([LOOPBACK[family]]))
      const listed = hosts.get(name)?.[family] ?? []
      return listed.length > 0 ? Effect.succeed(local(listed)) : query(host, family)
    }

    return Resolver.of({
      resolve: (host, family) => Effect.map(resolveWithTtl(host, family), (answers) => answers.map((answer) => answer.address)),
      resolveWithTtl
    })
  })

/**
 * Why `server` is not a DNS server address (`IP`, `IP:port`, `[IPv6]` or `[IPv6]:port`), if so.
 * Checked before c-ares sees it: Node 20 takes port 99999 modulo 65536, and port 0 aborts the
 * process.
 */
const serverProblem = (server: unknown): string | undefined => {
  if (typeof server !== "string") return "Not an IP address"
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(server)
  const colon = server.lastIndexOf(":")
  const [host, port] = bracketed !== null
    ? [bracketed[1]!, bracketed[2]]
    : net.isIPv6(server) || colon < 0
    ? [server, undefined]
    : [server.slice(0, colon), server.slice(colon + 1)]
  if (net.isIP(host) === 0) return "Not an IP address"
  if (port !== undefined && !(/^[0-9]{1,5}$/.test(port) && Number(port) >= 1 && Number(port) <= 65535)) {
    return `Port must be an integer from 1 to 65535, got ${port}`
  }
  return undefined
}

const invalidServer = (server: string, detail: string, cause?: unknown) =>
  new DnsError({ reason: "Invalid", host: server, server, code: "EINVAL", detail, cause })

/** `servers` is checked below, the others by their rule. */
const OPTION_RULES = { timeout: "duration", tries: "positive", hostsFile: "file" } as const satisfies Record<Exclude<keyof Options, "servers">, Rule>

const checkServers = (servers: ReadonlyArray<string>) =>
  Effect.suspend(() => {
    // Untyped callers may pass anything.
    if (!Array.isArray(servers)) return Effect.fail(invalidServer(String(servers), "Not a list of DNS server addresses"))
    for (const server of servers) {
      const problem = serverProblem(server)
      if (problem !== undefined) return Effect.fail(invalidServer(String(server), problem))
    }
    return Effect.try({
      try: () => {
        // setServers normalizes; the channel is dropped unused.
        const channel = new dns.Resolver()
        channel.setServers(servers)
        return channel.getServers()
      },
      catch: (error) => invalidServer(servers.join(", "), error instanceof Error ? error.message : String(error), error)
    })
  })

/**
 * The {@link make} resolver as a layer: `NodeResolver.layer({ servers: ["127.0.0.1:5353"] })`.
 * Wrap it in `Resolver.cached()` to keep answers for their TTL.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options?: Options): Layer.Layer<Resolver, DnsError> => Layer.effect(Resolver, make(options))
