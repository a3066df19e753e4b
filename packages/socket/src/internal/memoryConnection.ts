/**
 * The in-memory connection pair behind `Connection.makePair`.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import { type Connection, TypeId } from "../Connection.js"
import { ConnectionError } from "../SocketError.js"
import { type HasOnClose, OnClose } from "./onClose.js"
import { busyError } from "./oneReader.js"
import { assertValidOptions } from "./options.js"
import * as Waiters from "./waiters.js"

/** @internal */
export interface PairOptions {
  readonly highWaterMark?: number | undefined
  readonly localAddress?: string | undefined
  readonly remoteAddress?: string | undefined
}

/** @internal */
export const DEFAULT_HIGH_WATER_MARK = 64 * 1024

/** One direction of a pair: what one side wrote and the other has not read yet. */
interface Pipe {
  chunks: Array<Uint8Array>
  bytes: number
  /** The writer half-closed (or closed): the reader ends once it has drained `chunks`. */
  finished: boolean
  /** The reader closed: nothing more is delivered and writes fail with `EPIPE`. */
  readerGone: boolean
  /** Counts the pulls that had to wait: a waiting pull whose number is no longer the last lost its turn. */
  lastReader: number
  readonly waiters: Waiters.Waiters
}

const makePipe = (): Pipe => ({ chunks: [], bytes: 0, finished: false, readerGone: false, lastReader: 0, waiters: Waiters.make() })

const encoder = new TextEncoder()

const makeConnection = (
  incoming: Pipe,
  outgoing: Pipe,
  local: string,
  remote: string,
  highWaterMark: number,
  onClose: () => void
): Connection => {
  let state: "open" | "ended" | "closed" = "open"
  const address = Option.some(remote)
  const closedError = (detail: string) => new ConnectionError({ reason: "Closed", address, code: "EPIPE", detail })
  const brokenPipe = () => new ConnectionError({ reason: "Write", address, code: "EPIPE", detail: "Broken pipe" })

  // One reader at a time, as over a socket: a pull that starts waiting while another waits takes
  // over, and the earlier one fails with EBUSY instead of sharing the bytes.
  const pull: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<ConnectionError>> = Effect.suspend(() => {
    if (incoming.chunks.length > 0) {
      const taken = incoming.chunks
      incoming.chunks = []
      incoming.bytes = 0
      incoming.waiters.notify()
      return Effect.succeed(Chunk.unsafeFromArray(taken))
    }
    if (incoming.finished || incoming.readerGone) return Effect.fail(Option.none())
    const reader = ++incoming.lastReader
    incoming.waiters.notify()
    return Effect.zipRight(
      incoming.waiters.until(() =>
        incoming.lastReader !== reader || incoming.chunks.length > 0 || incoming.finished || incoming.readerGone
      ),
      Effect.suspend(() => incoming.lastReader === reader ? pull : Effect.fail(Option.some(busyError(address))))
    )
  })

  // After the bytes are handed over, wait while the peer holds more than the high-water mark unread.
  const drained = Effect.zipRight(
    outgoing.waiters.until(() => outgoing.bytes <= highWaterMark || outgoing.readerGone || state === "closed"),
    Effect.suspend(() =>
      state === "closed"
        ? Effect.fail(closedError("Connection closed"))
        : outgoing.readerGone
        ? Effect.fail(brokenPipe())
        : Effect.void
    )
  )

  const write = (data: Uint8Array | string): Effect.Effect<void, ConnectionError> =>
    Effect.suspend(() => {
      if (state === "closed") return Effect.fail(closedError("Connection closed"))
      if (state === "ended") return Effect.fail(closedError("Write after end"))
      if (outgoing.readerGone) return Effect.fail(brokenPipe())
      // Copy, so that the caller may reuse its buffer as soon as `write` returns.
      const bytes = typeof data === "string" ? encoder.encode(data) : data.slice()
      if (bytes.length > 0) {
        outgoing.chunks.push(bytes)
        outgoing.bytes += bytes.length
        outgoing.waiters.notify()
      }
      return drained
    })

  const end = Effect.sync(() => {
    if (state !== "open") return
    state = "ended"
    outgoing.finished = true
    outgoing.waiters.notify()
  })

  // Closed in both directions: nothing more can arrive, and nothing more can be sent.
  const incomingClosed = () => incoming.finished || state === "closed"
  const outgoingClosed = () => outgoing.finished || outgoing.readerGone

  const connection: Connection & HasOnClose = {
    [TypeId]: TypeId,
    get remoteAddress() {
      return state === "closed" ? Option.none() : address
    },
    get localAddress() {
      return state === "closed" ? Option.none() : Option.some(local)
    },
    read: Stream.repeatEffectChunkOption(pull),
    pull: Effect.catchAll(Effect.asSome(pull), Option.match({ onNone: () => Effect.succeedNone, onSome: Effect.fail })),
    write,
    sink: Sink.forEach(write).pipe(Sink.mapEffect(() => end)),
    end,
    close: Effect.sync(() => {
      if (state === "closed") return
      state = "closed"
      // What this side already wrote still reaches the peer, then the peer's read ends; what the
      // peer wrote and this side did not read is dropped, and the peer's writes now fail.
      outgoing.finished = true
      incoming.readerGone = true
      incoming.chunks = []
      incoming.bytes = 0
      outgoing.waiters.notify()
      incoming.waiters.notify()
      onClose()
    }),
    closed: Effect.zipRight(incoming.waiters.until(incomingClosed), outgoing.waiters.until(outgoingClosed)),
    [OnClose]: (callback) => {
      incoming.waiters.when(incomingClosed, () => outgoing.waiters.when(outgoingClosed, () => callback(connection)))
      return true
    }
  }
  return connection
}

/** @internal */
export const unsafeMakePair = (
  options: PairOptions = {},
  onCloseSecond: () => void = () => {}
): readonly [Connection, Connection] => {
  assertValidOptions("Connection.makePair", options, { highWaterMark: "count" })
  const highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK
  const a = options.localAddress ?? "memory://a"
  const b = options.remoteAddress ?? "memory://b"
  const aToB = makePipe()
  const bToA = makePipe()
  return [
    makeConnection(bToA, aToB, a, b, highWaterMark, () => {}),
    makeConnection(aToB, bToA, b, a, highWaterMark, onCloseSecond)
  ]
}
