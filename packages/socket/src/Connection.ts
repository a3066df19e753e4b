/**
 * A `Connection` is one open, full-duplex byte stream (TCP, TLS or Unix-domain), as ReactPHP's
 * `ConnectionInterface`, in Effect's shape: reading is a pull-based `Stream` (not pulling
 * pauses the socket, so the peer's TCP window fills), writing waits while the write buffer is
 * over its high-water mark, and `end` half-closes.
 *
 * A connection belongs to the `Scope` it was acquired in (`Connector.connect`) or to its
 * server's scope; closing that scope closes it. `close` closes it earlier.
 *
 * @since 0.1.0
 */
import type * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import { dual } from "effect/Function"
import type * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import type * as Sink from "effect/Sink"
import type * as Stream from "effect/Stream"
import * as internal from "./internal/memoryConnection.js"
import * as internalPipe from "./internal/pipe.js"
import type { ConnectionError } from "./SocketError.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("@effect-socket/socket/Connection")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * @since 0.1.0
 * @category models
 */
export interface Connection {
  readonly [TypeId]: TypeId
  /**
   * The peer's address as a URI: `tcp://127.0.0.1:8080`, `tcp://[::1]:8080`, `tls://…`,
   * `unix:///path` (ReactPHP's `getRemoteAddress()`); `None` once the connection is closed.
   */
  readonly remoteAddress: Option.Option<string>
  /** This end's address, in the same form; `None` once closed. */
  readonly localAddress: Option.Option<string>
  /**
   * The bytes the peer sends, in the chunks they arrive in. It ends when the peer half-closes
   * (FIN) and fails with a {@link ConnectionError} on a reset (`ECONNRESET`). Only pulling reads
   * from the socket: while nobody pulls, nothing is buffered beyond one high-water mark and the
   * peer is slowed by TCP flow control. One reader at a time: over a socket, a second concurrent
   * reader takes over and the first fails with `EBUSY`. A run that stops early (`Stream.take`)
   * drops the rest of the chunk it last pulled: frame with `pull` when later bytes matter.
   */
  readonly read: Stream.Stream<Uint8Array, ConnectionError>
  /**
   * The effect behind `read`, for read loops without a `Stream`: waits for the next bytes and
   * gives every chunk that arrived since the previous pull (at least one), in order, or `None`
   * once the peer half-closed; fails as `read` fails. It reads and pauses the socket as `read`
   * does, under the same one-reader rule. A `Stream` run costs Effect about 130 µs and 20 KB per
   * connection; a loop over `pull` next to nothing (docs/performance.md).
   */
  readonly pull: Effect.Effect<Option.Option<Chunk.Chunk<Uint8Array>>, ConnectionError>
  /**
   * Writes bytes (strings as UTF-8). Completes once the data is handed to the socket and its
   * buffer is below the high-water mark, so a loop of writes to a slow peer holds at most about
   * one high-water mark in memory. Fails with `Closed` (`EPIPE`) after `end`/`close`, or `Write`
   * on a socket error.
   */
  readonly write: (data: Uint8Array | string) => Effect.Effect<void, ConnectionError>
  /** A sink that writes every chunk with `write`, then half-closes with `end` when the stream ends. */
  readonly sink: Sink.Sink<void, Uint8Array, never, ConnectionError>
  /**
   * Half-close: flushes what was written, sends FIN, and keeps reading until the peer ends too.
   * Idempotent.
   */
  readonly end: Effect.Effect<void, ConnectionError>
  /** Closes both directions now, discarding unsent data (ReactPHP's `close()`). Idempotent. */
  readonly close: Effect.Effect<void>
  /**
   * Completes once the connection is closed in both directions, whoever closed it (ReactPHP's
   * `close` event). Waiting for it does not read, write or keep the connection open.
   */
  readonly closed: Effect.Effect<void>
}

/**
 * Whether `u` is a {@link Connection}.
 *
 * @since 0.1.0
 * @category guards
 */
export const isConnection = (u: unknown): u is Connection => typeof u === "object" && u !== null && TypeId in u

/**
 * Options of {@link pipeTo}.
 *
 * @since 0.1.0
 * @category models
 */
export interface PipeOptions {
  /**
   * Whether to half-close the destination (`end`: flush, then FIN) once the source has ended;
   * default `true`, as ReactPHP's `pipe()`. With `false` the destination stays open for writing.
   */
  readonly end?: boolean | undefined
}

/**
 * Copies everything `source` reads into `destination` (ReactPHP's `$source->pipe($dest)`, Go's
 * `io.Copy`); `pipeTo(connection, connection)` is an echo. Bytes arrive in order and intact.
 *
 * - Backpressure: the source is not read while the destination's buffer is over its high-water
 *   mark, so a slow destination slows the source's peer through TCP flow control: unwritten
 *   bytes stay below about one high-water mark plus the last read (up to 256 KiB over a socket).
 * - Completes once the source has ended (its peer's FIN) and, unless `end: false`, the
 *   destination's `end` has completed (flushed, FIN sent). It also completes when the source is
 *   closed (its read ends).
 * - Fails with the first {@link ConnectionError} of reading the source (`Read`, e.g.
 *   `ECONNRESET`) or writing the destination (`Write`, or `Closed` / `EPIPE` once it is ended or
 *   closed). Bytes read but not written by then are lost, as with a failed `write`.
 * - The pipe is the source's reader. Over a socket (one reader at a time) a `read` or `pull`
 *   started while it runs takes over, and the pipe fails with `EBUSY`; a pipe started while a
 *   `pull` waits takes over, and that pull fails with `EBUSY`.
 * - Interrupting it stops the piping and leaves both connections open (their scopes close
 *   them); the bytes not yet piped stay readable with `pull` or `read`.
 *
 * Between two Node socket connections (TCP, TLS, Unix, in any mix) the source's reads go
 * straight to the destination's socket, pausing the source while the destination drains: no
 * fiber work per chunk, as Node's `readable.pipe`. Between any others it is a loop over `pull`
 * and `write`, without a `Stream` run: about a microsecond of Effect work per chunk.
 *
 * @since 0.1.0
 * @category combinators
 */
export const pipeTo: {
  (destination: Connection, options?: PipeOptions): (source: Connection) => Effect.Effect<void, ConnectionError>
  (source: Connection, destination: Connection, options?: PipeOptions): Effect.Effect<void, ConnectionError>
} = dual(
  (args) => isConnection(args[0]) && isConnection(args[1]),
  (source: Connection, destination: Connection, options?: PipeOptions) =>
    internalPipe.pipeTo(source, destination, options)
)

/**
 * Options of {@link makePair}.
 *
 * @since 0.1.0
 * @category models
 */
export interface PairOptions {
  /**
   * Bytes a side may hold unread before its peer's `write` waits, an integer of 0 or more:
   * default `65536` (64 KiB). `0` makes every `write` wait until the reader has taken all of it.
   */
  readonly highWaterMark?: number | undefined
  /** The first connection's `localAddress` (the second's `remoteAddress`); default `memory://a`. */
  readonly localAddress?: string | undefined
  /** The first connection's `remoteAddress` (the second's `localAddress`); default `memory://b`. */
  readonly remoteAddress?: string | undefined
}

/**
 * Two connected in-memory connections, for testing protocol code without sockets: what one
 * writes, the other reads, byte for byte, in the chunks written (a pull takes every chunk
 * waiting). It behaves as a TCP connection does:
 * - backpressure: `write` hands its bytes over, then waits while the peer holds more than
 *   `highWaterMark` bytes unread;
 * - half-close: after `end`, the peer's `read` ends once drained; the ender still reads, and its
 *   own writes fail with `Closed` (`EPIPE`);
 * - `close`: what this side wrote is still delivered, then the peer's `read` ends; this side's
 *   `read` ends at once (unread bytes are dropped), its writes fail with `Closed` (`EPIPE`) and
 *   the peer's with `Write` (`EPIPE`, `Broken pipe`); this side's addresses become `None`.
 *
 * One reader at a time, as over a socket: a reader (`read`, `pull`, `pipeTo`) that starts waiting
 * while another waits takes over, and the earlier one fails with `Read` (`EBUSY`); `read` fails
 * with nothing else. Both connections are closed when the scope closes. A `highWaterMark` that
 * is not an integer of 0 or more is a programming error: the effect dies with an
 * `IllegalArgumentException` (`Connection.makePair: Invalid option highWaterMark: -1, expected an
 * integer from 0 to 2147483647`).
 *
 * @since 0.1.0
 * @category constructors
 */
export const makePair = (options?: PairOptions): Effect.Effect<readonly [Connection, Connection], never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.sync(() => internal.unsafeMakePair(options)),
    ([first, second]) => Effect.zipRight(first.close, second.close)
  )

/**
 * {@link makePair} without a scope: the caller closes both connections (or lets them be
 * garbage-collected, as they hold nothing but memory). For doubles built synchronously, e.g. in
 * `Layer.succeed(Connector, …)`. Throws an `IllegalArgumentException` for a bad `highWaterMark`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const unsafeMakePair = (options?: PairOptions): readonly [Connection, Connection] =>
  internal.unsafeMakePair(options)
