/**
 * A Unix-domain socket server, as ReactPHP's `UnixServer`: listens on a socket path (or a Linux
 * abstract name) and exposes the accepted connections as a `Stream`. Not pulling the stream is
 * ReactPHP's `pause()`. The socket file is created on listen and removed when the scope closes.
 *
 * @since 0.1.0
 */
import type { Server } from "@effect-socket/socket/Server"
import { DEFAULT_BACKLOG as SERVER_DEFAULT_BACKLOG } from "@effect-socket/socket/Server"
import { InvalidUriError, ListenError } from "@effect-socket/socket/SocketError"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as fs from "node:fs/promises"
import * as path from "node:path"
import { unixAddresses } from "./internal/addresses.js"
import { dialScoped } from "./internal/dial.js"
import { describe, describeCode } from "./internal/errno.js"
import type { ListenSpec } from "./internal/netServer.js"
import { listen } from "./internal/netServer.js"
import type { Rule } from "@effect-socket/socket/internal/options"
import { invalidOption } from "@effect-socket/socket/internal/options"
import type { UnixPath } from "./internal/unixPath.js"
import { parseUnixPath } from "./internal/unixPath.js"

/**
 * Options of {@link make}, as ReactPHP's `unix` socket context.
 *
 * @since 0.1.0
 * @category models
 */
export interface Options {
  /**
   * The kernel's listen backlog and the bound on accepted connections held while nobody pulls
   * `connections`, a positive integer; default 511. Past it, a new connection is closed at once
   * and reported on `errors` as `BacklogFull`.
   */
  readonly backlog?: number
  /**
   * When the path holds a stale socket file (left by a server that died: nobody is listening on
   * it), remove it and listen; default `false`, which fails with `EADDRINUSE` and says the file is
   * stale. A file a live server listens on is never removed.
   */
  readonly replaceStale?: boolean
  /**
   * Make the socket file readable by all users (mode `o+r`); default `false`. Not for an
   * abstract socket, which has no file (`EINVAL`).
   */
  readonly readableAll?: boolean
  /**
   * Make the socket file writable by all users, so that anyone may connect (`o+w`); default
   * `false`. Not for an abstract socket (`EINVAL`).
   */
  readonly writableAll?: boolean
  /** Bytes read ahead of the consumer before a connection is paused, an integer of 0 or more; default 65,536. */
  readonly readHighWaterMark?: number
}

const OPTION_RULES = {
  backlog: "positive",
  replaceStale: "boolean",
  readableAll: "boolean",
  writableAll: "boolean",
  readHighWaterMark: "count"
} as const satisfies Record<keyof Options, Rule>

/**
 * The default listen backlog, ReactPHP's (and Node's) 511.
 *
 * @since 0.1.0
 * @category constants
 */
export const DEFAULT_BACKLOG: number = SERVER_DEFAULT_BACKLOG

/**
 * Listens on `uri`: `unix:///abs/path.sock`, `unix://relative.sock` (relative to the working
 * directory), a bare path, or `unix://@name` (a Linux abstract socket, no file). Returns the
 * `Server`; its `address` is `unix://` and the path as given (`unix:///run/app.sock`,
 * `unix://@name`). Each connection's `localAddress` is that address and its `remoteAddress` is
 * `None`, as the client's socket has no name (ReactPHP returns `null`).
 *
 * Fails, before any socket exists, with `EINVAL` for another scheme, an empty path, a path
 * longer than the platform allows (107 bytes on Linux, 103 on macOS), which Node would truncate
 * silently and bind, or a bad option value; otherwise with `Listen` and the system code (`EACCES`, `ENOENT` for a
 * missing directory, …). A path in use fails with `EADDRINUSE`:
 * `Failed to listen on "unix:///run/app.sock": Address already in use (EADDRINUSE)` when a live
 * server listens on it; when the file is a stale socket nobody listens on (found by trying to
 * connect to it: a live server sees a connection that closes at once), the message says so,
 * and `replaceStale: true` removes it and listens.
 *
 * Closing the scope stops listening, closes every connection the server accepted and removes
 * the socket file (libuv unlinks it before closing the socket, so a file another server bound
 * in the meantime is not removed); the same path can be listened on again at once.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (uri: string, options: Options = {}): Effect.Effect<Server, ListenError, Scope.Scope> =>
  Effect.flatMap(Effect.mapError(parseUnixPath(uri), ListenError.invalidUri), (target) => {
    const invalid = invalidOption(options, OPTION_RULES)
    if (invalid !== undefined) return Effect.fail(new ListenError({ reason: "Listen", uri: target.uri, code: "EINVAL", detail: invalid }))
    if (target.abstract && (options.readableAll === true || options.writableAll === true)) {
      return Effect.fail(ListenError.invalidUri(
        new InvalidUriError({ uri: target.uri, problem: "Malformed", detail: "an abstract socket has no file mode to set (readableAll, writableAll)" })
      ))
    }
    const spec: ListenSpec = {
      uri: target.uri,
      listen: {
        path: target.nodePath,
        readableAll: options.readableAll ?? false,
        writableAll: options.writableAll ?? false
      },
      backlog: options.backlog ?? DEFAULT_BACKLOG,
      address: () => target.uri,
      addresses: unixAddresses({ local: target.uri }),
      ...(options.readHighWaterMark !== undefined ? { readHighWaterMark: options.readHighWaterMark } : {})
    }
    return listen(spec).pipe(
      Effect.catchIf((error) => error.code === "EACCES" && !target.abstract, (error) => missingDirectory(target, error)),
      Effect.catchIf(
        (error) => error.code === "EADDRINUSE" && !target.abstract,
        (error) => Effect.flatMap(occupant(target), (found) => {
          switch (found) {
            case "stale":
              return options.replaceStale === true
                ? Effect.zipRight(removeStale(target), listen(spec))
                : Effect.fail(inUse(target, "Address already in use by a stale socket file that nobody listens on; remove it or set replaceStale: true"))
            case "not a socket":
              return Effect.fail(inUse(target, "Address already in use by a file that is not a socket"))
            case "live":
              return Effect.fail(error)
          }
        })
      )
    )
  })

/**
 * libuv reports a missing directory as `EACCES` (for Windows' sake); say `ENOENT` when the
 * directory is indeed missing.
 */
const missingDirectory = (target: UnixPath, error: ListenError) =>
  Effect.flatMap(Effect.option(Effect.tryPromise(() => fs.stat(path.dirname(target.nodePath)))), (directory) => {
    if (Option.isSome(directory)) return Effect.fail(error)
    const { code, detail } = describeCode("ENOENT")
    return Effect.fail(new ListenError({ reason: "Listen", uri: target.uri, code, detail: `${detail}: ${path.dirname(target.path)}`, cause: error.cause }))
  })

const inUse = (target: UnixPath, detail: string) =>
  new ListenError({ reason: "Listen", uri: target.uri, code: "EADDRINUSE", detail })

/**
 * What holds a path that bind() found in use. Only a refused connection proves that nobody
 * listens: a live server accepts (or is too busy, `EAGAIN`), and a server in another network
 * namespace sharing the directory still accepts, so /proc/net/unix would not be enough.
 */
const occupant = (target: UnixPath): Effect.Effect<"live" | "stale" | "not a socket"> =>
  Effect.gen(function*() {
    const stat = yield* Effect.option(Effect.tryPromise(() => fs.lstat(target.nodePath)))
    if (Option.isSome(stat) && !stat.value.isSocket()) return "not a socket"
    const probe = { uri: target.uri, connect: { path: target.nodePath }, stage: "connect", addresses: unixAddresses({}) } as const
    const refused = yield* dialScoped(probe).pipe(
      Effect.scoped,
      Effect.as(false),
      Effect.catchAll((error) => Effect.succeed(error.code === "ECONNREFUSED"))
    )
    return refused ? "stale" : "live"
  })

const removeStale = (target: UnixPath) =>
  Effect.tryPromise({
    try: () => fs.rm(target.nodePath, { force: true }),
    catch: (cause) => {
      const { code, detail } = describe(cause)
      return new ListenError({ reason: "Listen", uri: target.uri, code, detail: `Unable to remove the stale socket file: ${detail}`, cause })
    }
  })
