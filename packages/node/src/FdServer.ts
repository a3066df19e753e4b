/**
 * A server on an inherited, already-bound socket, as ReactPHP's `FdServer`: `fd://3` is the Node
 * spelling of ReactPHP's `php://fd/3`. The socket may be TCP/IP or Unix-domain; the server finds
 * out which. {@link fromSystemd} takes the sockets of systemd socket activation.
 *
 * @since 0.1.0
 */
import type { Server } from "@effect-socket/socket/Server"
import { DEFAULT_BACKLOG as SERVER_DEFAULT_BACKLOG } from "@effect-socket/socket/Server"
import { InvalidUriError, ListenError } from "@effect-socket/socket/SocketError"
import * as SocketUri from "@effect-socket/socket/SocketUri"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as fs from "node:fs"
import * as net from "node:net"
import { tcpAddresses } from "./internal/addresses.js"
import { describe, describeCode } from "./internal/errno.js"
import { listen } from "./internal/netServer.js"
import type { Rule } from "@effect-socket/socket/internal/options"
import { invalidOption } from "@effect-socket/socket/internal/options"

/**
 * Options of {@link make}.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * The listen backlog and the bound on accepted connections held while nobody pulls
   * `connections`, a positive integer; default 511. Past it, a new connection is closed at once
   * and reported on `errors` as `BacklogFull`.
   */
  readonly backlog?: number
  /** Disable Nagle's algorithm on accepted TCP sockets (`TCP_NODELAY`); default `true`. */
  readonly noDelay?: boolean
  /** Bytes read ahead of the consumer before a connection is paused, an integer of 0 or more; default 65,536. */
  readonly readHighWaterMark?: number
}

/**
 * The default listen backlog, 511, as for `TcpServer` and `UnixServer`.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_BACKLOG: number = SERVER_DEFAULT_BACKLOG

const OPTION_RULES = { backlog: "positive", noDelay: "boolean", readHighWaterMark: "count" } as const satisfies Record<keyof Options, Rule>

/** The largest fd number accepted: an `int` in the kernel's API. */
const MAX_FD = 2 ** 31 - 1

/**
 * Parses `fd://N` (or the number `N`) into a file descriptor number. Fails with `EINVAL` for
 * anything else, before any file descriptor is touched.
 *
 * @since 0.1.0
 * @category parsing
 */
export const parseUri = (uri: string | number): Either.Either<number, InvalidUriError> => {
  const fd = typeof uri === "number" ? uri : /^fd:\/\/([0-9]{1,10})$/i.exec(uri)?.[1]
  const n = Number(fd)
  return fd !== undefined && Number.isInteger(n) && n >= 0 && n <= MAX_FD
    ? Either.right(n)
    : Either.left(new InvalidUriError({ uri: String(uri), problem: "Malformed", detail: "expected fd://N, N a file descriptor number" }))
}

/**
 * Listens on the inherited socket `fd://N` and returns the `Server`. Its `address` is the
 * socket's own: `tcp://127.0.0.1:8080`, `tcp://[::1]:8080`, or for a Unix-domain socket
 * `unix:///run/app.sock` / `unix://@name` (read from `/proc/net/unix`, so Linux only; elsewhere,
 * and for an unnamed socket, the `fd://N` URI). Connections are named as by `TcpServer` or
 * `UnixServer`.
 *
 * Fails with `EINVAL` for a malformed URI or a bad option value (before the descriptor is
 * touched), with `EBADF` when the descriptor is not open and with
 * `ENOTSOCK` when it is not a socket (both checked with `fstat` before listening), and with
 * `EINVAL` when the socket cannot listen (a connected or datagram socket):
 * `Failed to listen on "fd://3": Bad file descriptor (EBADF)`. A TCP socket that is not bound
 * to an address fails with `EINVAL` too and is closed: listening would bind it to a random port
 * on every interface.
 *
 * The server owns the descriptor: closing the scope stops listening and closes it (a Unix socket
 * file is left in place, as it belongs to whoever bound it).
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (uri: string | number, options: Options = {}): Effect.Effect<Server, ListenError, Scope.Scope> =>
  Effect.gen(function*() {
    const fd = yield* Effect.mapError(parseUri(uri), ListenError.invalidUri)
    const fdUri = `fd://${fd}`
    const fail = (code: string, detail: string, cause?: unknown) => new ListenError({ reason: "Listen", uri: fdUri, code, detail, cause })
    const invalid = invalidOption(options, OPTION_RULES)
    if (invalid !== undefined) return yield* Effect.fail(fail("EINVAL", invalid))
    const stat = yield* Effect.async<fs.Stats, ListenError>((resume) =>
      fs.fstat(fd, (error, stats) => {
        if (error === null) return resume(Effect.succeed(stats))
        const { code, detail } = describe(error, "EBADF")
        resume(Effect.fail(fail(code, detail, error)))
      })
    )
    if (!stat.isSocket()) {
      const { code, detail } = describeCode("ENOTSOCK")
      return yield* Effect.fail(fail(code, detail))
    }
    const known = yield* lookUp(stat.ino)
    const unixAddress = known._tag === "Unix" ? Option.map(known.path, (path) => `unix://${path}`) : Option.none()
    const target = known._tag === "Unknown" ? yield* probeTcp(fd, fail) : { fd }
    return yield* listen({
      uri: fdUri,
      listen: target,
      backlog: options.backlog ?? DEFAULT_BACKLOG,
      serverOptions: { noDelay: options.noDelay ?? true },
      address: (server) => addressOf(server, Option.getOrElse(unixAddress, () => fdUri)),
      // A TCP connection names its ends; a Unix one has the server's path as local address only.
      addresses: {
        remote: tcpAddresses.remote,
        local: (socket) => tcpAddresses.local(socket) ?? Option.getOrUndefined(unixAddress)
      },
      ...(options.readHighWaterMark !== undefined ? { readHighWaterMark: options.readHighWaterMark } : {})
    }).pipe(
      Effect.mapError((error) =>
        error.code === "EINVAL" && error.reason === "Listen"
          ? fail("EINVAL", CANNOT_LISTEN, error.cause)
          : error
      )
    )
  })

/** A TCP listener's address from `getsockname`; Node knows none for a Unix socket it did not bind. */
const addressOf = (server: net.Server, unixAddress: string) => {
  const bound = server.address()
  return typeof bound === "object" && bound !== null
    ? `tcp://${SocketUri.formatHostPort(bound.address, bound.port)}`
    : unixAddress
}

/**
 * What the kernel's tables in `/proc/net` (Linux) say about the socket with inode `ino`: a Unix
 * socket with its bound path (`@name` for an abstract one; none when unnamed), or a TCP socket
 * that is listening or connected, hence bound. `Unknown` for a TCP socket that is neither (the
 * tables leave those out), for a socket of another network namespace, and without `/proc`.
 */
type Known =
  | { readonly _tag: "Unix"; readonly path: Option.Option<string> }
  | { readonly _tag: "Tcp" }
  | { readonly _tag: "Unknown" }

const readTable = (file: string): Effect.Effect<ReadonlyArray<string>> =>
  Effect.async((resume) => {
    fs.readFile(file, "utf8", (error, table) => resume(Effect.succeed(error === null ? table.split("\n").slice(1) : [])))
  })

const lookUp = (ino: number): Effect.Effect<Known> =>
  Effect.gen(function*() {
    // Num RefCount Protocol Flags Type St Inode [Path] (the path may hold spaces; it ends the line)
    for (const line of yield* readTable("/proc/net/unix")) {
      const row = /^\s*\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+(\d+)(?: (.+))?$/.exec(line)
      if (row !== null && Number(row[1]) === ino) return { _tag: "Unix", path: Option.map(Option.fromNullable(row[2]), unpad) }
    }
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode …
    for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
      for (const line of yield* readTable(file)) {
        if (Number(line.trim().split(/\s+/)[9]) === ino) return { _tag: "Tcp" }
      }
    }
    return { _tag: "Unknown" }
  })

/**
 * For a socket `/proc/net` knows nothing about: asks the socket its address (`getsockname`)
 * through a `net.Socket` that takes the descriptor over, so that an unbound TCP socket is refused:
 * listen() would bind it to a random port on every interface. A bound one's handle is what the
 * server then listens on (`server.listen(handle)`), as the descriptor now belongs to it. A Unix
 * socket of another network namespace gets a handle of its own from the server: the probe's is
 * left unused and unreferenced, as closing it would close the descriptor.
 */
const probeTcp = (fd: number, fail: (code: string, detail: string, cause?: unknown) => ListenError) =>
  Effect.suspend(() => {
    let probe: net.Socket
    try {
      probe = new net.Socket({ fd, readable: false, writable: false })
    } catch (error) {
      // Neither TCP nor a Unix socket (a datagram socket): what listen() would say.
      return Effect.fail(fail("EINVAL", CANNOT_LISTEN, error))
    }
    const address = probe.address()
    if (!("port" in address)) {
      probe.unref()
      return Effect.succeed({ fd })
    }
    if (address.port === 0) {
      probe.destroy()
      return Effect.fail(fail("EINVAL", "Invalid argument: the socket is not bound to an address (listening would bind it to a random port on every interface)"))
    }
    const handle = (probe as unknown as { readonly _handle: unknown })._handle
    return Effect.succeed(Object.assign({ fd }, { _handle: handle }))
  })

const CANNOT_LISTEN = "Invalid argument: the socket cannot listen (a connected or datagram socket?)"

/**
 * An abstract name bound by Node 20 (libuv 1.46) fills all 107 bytes, padded with NULs, which
 * /proc/net/unix shows as `@`: `@name@@@…`. Node pads the same way when connecting, so `@name`
 * is the name to give. Other abstract names are shown as they are.
 */
const unpad = (path: string) => (path.startsWith("@") && path.length === 108 ? path.replace(/@+$/, "") : path)

/**
 * A socket passed by systemd socket activation, with the name systemd gave it
 * (`FileDescriptorName=`, default the socket unit's name; `unknown` when none was passed).
 *
 * @since 0.1.0
 * @category models
 */
export interface ActivatedServer {
  readonly fd: number
  readonly name: string
  readonly server: Server
}

/**
 * Options of {@link fromSystemd}: those of {@link make}, for every socket, and
 * `unsetEnvironment`.
 *
 * @since 0.1.0
 * @category models
 */
export interface SystemdOptions extends Options {
  /**
   * Remove `LISTEN_PID`, `LISTEN_FDS` and `LISTEN_FDNAMES` from `process.env`, so that child
   * processes do not take the sockets too; default `true`, as `sd_listen_fds(1)`.
   */
  readonly unsetEnvironment?: boolean
}

/**
 * The first file descriptor systemd passes, `SD_LISTEN_FDS_START`.
 *
 * @since 0.1.0
 * @category constants
 */
export const LISTEN_FDS_START = 3

/**
 * Listens on the sockets passed by systemd socket activation (`sd_listen_fds(3)`): `LISTEN_FDS`
 * sockets from fd 3 on, named by the colon-separated `LISTEN_FDNAMES`, when `LISTEN_PID` is this
 * process's pid. Returns them in fd order; an empty array when the variables are absent or
 * meant for another process (`LISTEN_PID` differs). Each socket is opened as by {@link make},
 * so a passed FIFO fails with `ENOTSOCK`; a `LISTEN_FDS` that is not a number fails with `EINVAL`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromSystemd = (
  options: SystemdOptions = {}
): Effect.Effect<ReadonlyArray<ActivatedServer>, ListenError, Scope.Scope> =>
  Effect.suspend(() => {
    const { LISTEN_FDNAMES: names, LISTEN_FDS: count, LISTEN_PID: pid } = process.env
    if (options.unsetEnvironment ?? true) {
      delete process.env.LISTEN_PID
      delete process.env.LISTEN_FDS
      delete process.env.LISTEN_FDNAMES
    }
    if (pid === undefined || count === undefined || Number(pid) !== process.pid) return Effect.succeed([])
    if (!/^[0-9]{1,6}$/.test(count)) {
      return Effect.fail(new ListenError({ reason: "Listen", uri: `LISTEN_FDS=${count}`, code: "EINVAL", detail: "LISTEN_FDS is not a number of file descriptors" }))
    }
    const nameList = names?.split(":") ?? []
    return Effect.forEach(Array.from({ length: Number(count) }, (_, i) => i), (i) =>
      Effect.map(make(LISTEN_FDS_START + i, options), (server): ActivatedServer => ({
        fd: LISTEN_FDS_START + i,
        name: nameList[i] ?? "unknown",
        server
      })))
  })
