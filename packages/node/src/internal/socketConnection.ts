import type { Connection } from "@effect-socket/socket/Connection"
import { TypeId } from "@effect-socket/socket/Connection"
import type { Callback } from "@effect-socket/socket/internal/onClose"
import { busyError } from "@effect-socket/socket/internal/oneReader"
import { OnClose } from "@effect-socket/socket/internal/onClose"
import { PipeTo } from "@effect-socket/socket/internal/pipe"
import { fromPull } from "@effect-socket/socket/internal/pullStream"
import { ConnectionError } from "@effect-socket/socket/SocketError"
import * as Cause from "effect/Cause"
import * as Channel from "effect/Channel"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import type * as Fiber from "effect/Fiber"
import * as FiberRef from "effect/FiberRef"
import { constVoid, identity } from "effect/Function"
import * as Option from "effect/Option"
import * as RuntimeFlags from "effect/RuntimeFlags"
import * as Sink from "effect/Sink"
import type * as Stream from "effect/Stream"
import type * as net from "node:net"
import { describe } from "./errno.js"
import type { ReadCallback } from "./sharedReadBuffer.js"
import { copyOut, readsWith, stopSharedReads, useSharedReadBuffer } from "./sharedReadBuffer.js"

/** How a connection names its two ends: `tcp://127.0.0.1:80`, `unix:///run/x.sock`, … */
export interface AddressFormat {
  readonly remote: (socket: net.Socket) => string | undefined
  readonly local: (socket: net.Socket) => string | undefined
}

/** Bytes read ahead of the consumer before the socket is paused (TCP flow control takes over). */
export const DEFAULT_READ_HIGH_WATER_MARK = 64 * 1024

/** Construction options beyond the address format and the high-water mark. */
export interface SocketConnectionOptions {
  /**
   * Read a socket that has not started reading through the process-wide buffer (see
   * `sharedReadBuffer.ts`) instead of `data` events. Only for plain TCP and Unix sockets this
   * package created; ignored where unsafe. A socket dialled with `onread: sharedReadOption` reads
   * that way regardless.
   */
  readonly sharedReadBuffer?: boolean
  /** Called once when the socket closes (the accept queue's bookkeeping). */
  readonly onClose?: (socket: net.Socket) => void
}

/** The pull behind `read`: the bytes accumulated, `undefined` at the end of the stream, or the read error. */
type Pull = Effect.Effect<Chunk.Chunk<Uint8Array> | undefined, ConnectionError>
/** `Connection.pull`: the same, with `None` at the end. */
type OptionPull = Effect.Effect<Option.Option<Chunk.Chunk<Uint8Array>>, ConnectionError>
/**
 * A waiting pull's resume. It is only ever given its own pull (`Built.again`) or a failure, so
 * the value type does not matter here.
 */
type Waiter = (resume: Effect.Effect<unknown, ConnectionError>) => void
type SinkLoop = Channel.Channel<Chunk.Chunk<never>, Chunk.Chunk<Uint8Array>, ConnectionError, never, void, unknown>

const endOfStream = Exit.succeed(undefined)
const endOfStreamOption = Exit.succeed(Option.none())

/**
 * A running `pipeTo` fast path: the source's reads go straight to `destination`'s socket. It has
 * no listeners of its own: the destination's shared listeners find it in its `inbound` list.
 */
class Piping {
  /**
   * The next pipe into the same destination (several sources may pipe into one), then, once the
   * source has ended, the next pipe waiting for the destination's `finish`.
   */
  nextInbound: Piping | undefined = undefined
  /** Resumes the pipe's fiber (set when its wait starts). */
  resume: (effect: Effect.Effect<void, ConnectionError>) => void = constVoid
  constructor(
    readonly source: SocketConnection,
    readonly destination: SocketConnection,
    readonly end: boolean,
    /** The pipe's fiber when it waits interruptibly, else `undefined` (it cannot be interrupted). */
    private readonly fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined
  ) {}

  /** The pipe's `Effect.async` registration. */
  start(resume: (effect: Effect.Effect<void, ConnectionError>) => void) {
    this.resume = resume
    this.source.startPipe(this)
  }

  /**
   * Whether the pipe's fiber was interrupted. Instead of a canceler (an `Effect.async` with one
   * parks an `onInterrupt` frame stack, ~2.2 KB per idle pipe), the pipe checks this on each of its
   * events and then detaches: once its fiber is interrupted, no byte goes to the destination, and
   * the source reads ahead and pauses as without a reader. An interruptible fiber that has been
   * interrupted is never still waiting on the pipe: its wait was resumed with the interruption.
   */
  get interrupted(): boolean {
    return this.fiber !== undefined && !Cause.isEmpty(this.fiber.getFiberRef(FiberRef.interruptedCause))
  }
}

/** A connection's effects, built on first use. */
class Built {
  next: Pull | undefined = undefined
  puller: OptionPull | undefined = undefined
  /** The pull the waiter runs again when woken (`next` or `puller`). */
  again: Effect.Effect<unknown, ConnectionError> | undefined = undefined
  reader: Stream.Stream<Uint8Array, ConnectionError> | undefined = undefined
  sinkLoop: SinkLoop | undefined = undefined
  writer: ((data: Uint8Array | string) => Effect.Effect<void, ConnectionError>) | undefined = undefined
  drain: Effect.Effect<void, ConnectionError> | undefined = undefined
}

/** The connection a socket belongs to, for the listeners below (shared by every socket: no closure per connection). */
const owner: unique symbol = Symbol("@effect-socket/node/SocketConnection")
interface Owned extends net.Socket {
  [owner]: SocketConnection
}

/**
 * A `Connection` over a `net.Socket` (or `tls.TLSSocket`). A class rather than closures, its
 * socket listeners shared by every connection and its effects built on first use: an idle
 * connection costs this object and its socket, and no fiber is parked on it.
 *
 * Reading: the socket flows only while a pull waits or the read-ahead is below the high-water
 * mark; reads accumulate and each pull takes everything accumulated as one chunk (see
 * `pullStream.ts` for the stream around the pull).
 */
export class SocketConnection implements Connection {
  private buffered: Array<Uint8Array> | undefined = undefined
  private bufferedBytes = 0
  private ended = false
  private failure: ConnectionError | undefined = undefined
  private waiter: Waiter | undefined = undefined
  /** The pipe reading this connection, instead of `waiter` and `buffered`, while it runs. */
  private piping: Piping | undefined = undefined
  /** The pipes writing into this connection, a list through `Piping.nextInbound`. */
  private inbound: Piping | undefined = undefined
  /**
   * Read at once: Node forgets a socket's addresses when it is destroyed, which is exactly when
   * errors need to name the peer.
   */
  private readonly remote: string | undefined
  private detached = false
  /** The effects built on first use, in one object that a piped connection never allocates. */
  private built: Built | undefined = undefined
  private readonly onClose: ((socket: net.Socket) => void) | undefined
  /** The one callback taken through `[OnClose]`, until the socket closes. */
  private closeCallback: Callback | undefined = undefined

  constructor(
    readonly socket: net.Socket,
    private readonly addresses: AddressFormat,
    readonly highWaterMark: number = DEFAULT_READ_HIGH_WATER_MARK,
    options?: SocketConnectionOptions
  ) {
    this.onClose = options?.onClose
    ;(socket as Owned)[owner] = this
    const shared = readsWith(socket, SocketConnection.onSharedRead) ||
      (options?.sharedReadBuffer === true && useSharedReadBuffer(socket, SocketConnection.onSharedRead))
    socket.pause()
    this.remote = addresses.remote(socket)
    // A socket held in an accept queue may have been reset before anyone wrapped it.
    if (socket.destroyed) this.ended = true
    if (!shared) socket.on("data", SocketConnection.onSocketData)
    socket.on("end", SocketConnection.onSocketEnd)
    // An error listener stays attached for the socket's whole life (or until `detach` hands the
    // socket to a new owner), so that a late reset or a write after the peer left never becomes
    // an uncaught exception.
    socket.on("error", SocketConnection.onSocketError)
    socket.on("close", SocketConnection.onSocketClose)
  }

  /**
   * Hands the socket over to a new owner (STARTTLS): pauses it, removes this connection's
   * listeners and returns the bytes read ahead and not yet pulled, oldest first. Afterwards this
   * connection's `read` ends, `write` and `end` fail with `Closed`; `close` still destroys the
   * socket, and with it whatever now wraps it. (The close listener stays: it only tells the
   * accept queue, which still owns the socket.)
   */
  detach(): ReadonlyArray<Uint8Array> {
    const buffered = this.buffered ?? []
    this.buffered = undefined
    this.bufferedBytes = 0
    this.detached = true
    this.ended = true
    const socket = this.socket
    socket.pause()
    socket.off("data", SocketConnection.onSocketData)
    socket.off("end", SocketConnection.onSocketEnd)
    socket.off("error", SocketConnection.onSocketError)
    stopSharedReads(socket)
    this.wake()
    return buffered
  }

  /** Node's `onread` callback for sockets reading through the shared buffer (`this` is the socket). */
  static readonly onSharedRead: ReadCallback = function(this: net.Socket, bytes: number, buffer: Buffer): boolean {
    return (this as Owned)[owner].receive([copyOut(bytes, buffer)], bytes)
  }

  private static onSocketData(this: net.Socket, data: Buffer) {
    const connection = (this as Owned)[owner]
    if (!connection.receive([data], data.length)) this.pause()
  }

  private static onSocketEnd(this: net.Socket) {
    ;(this as Owned)[owner].onEnd()
  }

  private static onSocketError(this: net.Socket, error: Error) {
    const connection = (this as Owned)[owner]
    connection.onError(error)
    // Then the pipes into this connection fail as a write would.
    connection.failInbound(() => connection.writeFailure(error))
  }

  private static onSocketClose(this: net.Socket) {
    const connection = (this as Owned)[owner]
    connection.onEnd()
    connection.failInbound(() => connection.closedError())
    connection.onClose?.(this)
    const callback = connection.closeCallback
    if (callback !== undefined) {
      connection.closeCallback = undefined
      callback(connection)
    }
  }

  /**
   * Calls `callback` from the shared close listener, instead of a fiber waiting on `closed` (see
   * `onClose.ts`); at once if the socket is closed already. One callback per connection.
   */
  [OnClose](callback: Callback): boolean {
    if (this.closeCallback !== undefined) return false
    if (this.socket.closed) callback(this)
    else this.closeCallback = callback
    return true
  }

  /** While pipes write into this socket: each waits for its `drain` to read on. */
  private static onSocketDrain(this: net.Socket) {
    for (let piping = (this as Owned)[owner].inbound; piping !== undefined;) {
      const next = piping.nextInbound
      piping.source.pipeDrained(piping)
      piping = next
    }
  }

  get [TypeId](): TypeId {
    return TypeId
  }

  get remoteAddress(): Option.Option<string> {
    return this.socket.destroyed ? Option.none() : this.peer
  }

  /** The peer's address even after the socket is gone, for error messages. */
  private get peer(): Option.Option<string> {
    return Option.fromNullable(this.remote)
  }

  get localAddress(): Option.Option<string> {
    if (this.socket.destroyed) return Option.none()
    // Not kept: Node keeps the address itself, and a destroyed socket has none.
    return Option.fromNullable(this.addresses.local(this.socket))
  }

  /** Takes bytes just read; returns whether reading may go on (read-ahead below the mark). */
  private receive(pieces: Array<Uint8Array>, bytes: number): boolean {
    const piping = this.piping
    if (piping !== undefined) {
      // An interrupted pipe detaches; the bytes stay here for the next reader.
      if (piping.interrupted) this.stopPipe(piping)
      else {
        const closed = piping.destination.writable()
        // Straight to the destination; reading goes on while its buffer is below its mark.
        if (closed === undefined) return piping.destination.writePieces(pieces)
        // The pipe fails as a write would; the bytes stay here for the next reader.
        this.settlePipe(piping, Exit.fail(closed))
      }
    }
    if (this.buffered === undefined) this.buffered = pieces
    else for (const piece of pieces) this.buffered.push(piece)
    this.bufferedBytes += bytes
    this.wake()
    // Keep flowing while below the mark: data that arrives before the next pull is read ahead.
    return this.bufferedBytes < this.highWaterMark
  }

  private onEnd() {
    this.ended = true
    this.wake()
  }

  private onError(error: Error) {
    // While paused, Node reads ahead into the socket's own buffer; on an error it destroys the
    // socket and never emits those bytes, though they came before the error: take them now.
    for (let data: Buffer | null; (data = this.socket.read() as Buffer | null) !== null;) this.receive([data], data.length)
    if (this.failure === undefined) {
      const { code, detail } = describe(error)
      this.failure = new ConnectionError({ reason: "Read", address: this.peer, code, detail, cause: error })
    }
    this.wake()
  }

  /**
   * Resumes a waiting pull by having it pull again. The bytes, the end or the error stay here
   * until a pull takes them: a waiter whose fiber was interrupted ignores the call, and nothing
   * is lost. This is why waits need no canceler (which costs an `onInterrupt` per wait).
   */
  private wake() {
    if (this.piping !== undefined) return this.pipeEnded(this.piping)
    const waiter = this.waiter
    if (waiter === undefined) return
    this.waiter = undefined
    waiter(this.built!.again!)
  }

  /**
   * What a pull returns now (the bytes as `some` wraps them, `end`, or the error), or `undefined`
   * when it must wait.
   */
  private takeBuffered<A>(some: (chunk: Chunk.Chunk<Uint8Array>) => A, end: Exit.Exit<A>): Exit.Exit<A, ConnectionError> | undefined {
    const buffered = this.buffered
    if (buffered !== undefined) {
      this.buffered = undefined
      this.bufferedBytes = 0
      return Exit.succeed(some(Chunk.unsafeFromArray(buffered)))
    }
    if (this.failure !== undefined) return Exit.fail(this.failure)
    if (this.ended) return end
    return undefined
  }

  /**
   * A pull, `read`'s (`undefined` at the end) or `pull`'s (`Option`): each is built directly
   * rather than one as an `Effect.map` of the other (a continuation frame per pull).
   */
  private makePull<A>(some: (chunk: Chunk.Chunk<Uint8Array>) => A, end: Exit.Exit<A>): Effect.Effect<A, ConnectionError> {
    // No canceler: an interrupted wait leaves a stale waiter, which `wake` tolerates; the socket
    // then reads ahead up to the high-water mark and pauses, as it does for a consumer that
    // stopped pulling.
    // A connection has one reader at a time: a second concurrent reader takes over, and the first
    // fails with EBUSY instead of waiting forever (a stale waiter ignores it).
    const wait = Effect.async<A, ConnectionError>((resume) => {
      const previous = this.waiter
      this.waiter = resume as Waiter
      this.built!.again = pull
      if (previous !== undefined) previous(Effect.fail(this.busyError()))
      this.socket.resume()
    })
    const pull = Effect.suspend(() => {
      // A pipe reading this connection gives way to the new reader.
      if (this.piping !== undefined) this.settlePipe(this.piping, Exit.fail(this.busyError()))
      const ready = this.takeBuffered(some, end)
      if (ready === undefined) return wait
      if (!this.ended) this.socket.resume()
      return ready
    })
    return pull
  }

  private get lazy(): Built {
    return this.built ??= new Built()
  }

  private get nextPull(): Pull {
    return this.lazy.next ??= this.makePull(identity, endOfStream)
  }

  get read(): Stream.Stream<Uint8Array, ConnectionError> {
    return this.lazy.reader ??= fromPull(this.nextPull)
  }

  get pull(): Effect.Effect<Option.Option<Chunk.Chunk<Uint8Array>>, ConnectionError> {
    return this.lazy.puller ??= this.makePull(Option.some, endOfStreamOption)
  }

  private busyError(): ConnectionError {
    return busyError(this.peer)
  }

  private closedError(): ConnectionError {
    return new ConnectionError({ reason: "Closed", address: this.peer, code: "EPIPE", detail: "Connection is closed for writing" })
  }

  private writeFailure(error: unknown): ConnectionError {
    const { code, detail } = describe(error, "EPIPE")
    return new ConnectionError({ reason: "Write", address: this.peer, code, detail, cause: error })
  }

  /** Waits for `drain`, or fails if the socket errors or closes first. */
  private drained(): Effect.Effect<void, ConnectionError> {
    return this.lazy.drain ??= Effect.async((resume) => {
      const socket = this.socket
      const done = (exit: Exit.Exit<void, ConnectionError>) => {
        socket.off("drain", onDrain)
        socket.off("close", onClose)
        socket.off("error", onError)
        resume(exit)
      }
      const onDrain = () => done(Exit.void)
      const onError = (error: Error) => done(Exit.fail(this.writeFailure(error)))
      const onClose = () => done(Exit.fail(this.closedError()))
      socket.on("drain", onDrain)
      socket.on("close", onClose)
      socket.on("error", onError)
      return Effect.sync(() => {
        socket.off("drain", onDrain)
        socket.off("close", onClose)
        socket.off("error", onError)
      })
    })
  }

  private writable(): ConnectionError | undefined {
    const socket = this.socket
    if (this.detached || socket.destroyed || socket.writableEnded) return this.closedError()
    return undefined
  }

  get write(): (data: Uint8Array | string) => Effect.Effect<void, ConnectionError> {
    return this.lazy.writer ??= (data) =>
      Effect.suspend(() => {
        const closed = this.writable()
        if (closed !== undefined) return Exit.fail(closed)
        return this.socket.write(data) ? Exit.void : this.drained()
      })
  }

  /** Writes to the socket (one writev for several pieces); returns whether it is below its mark. */
  private writePieces(pieces: ReadonlyArray<Uint8Array>): boolean {
    const socket = this.socket
    if (pieces.length === 1) return socket.write(pieces[0]!)
    let ok = true
    if (pieces.length > 1) {
      socket.cork()
      for (const data of pieces) ok = socket.write(data)
      socket.uncork()
    }
    return ok
  }

  private writeChunk(chunk: Chunk.Chunk<Uint8Array>): Effect.Effect<void, ConnectionError> {
    return Effect.suspend(() => {
      const closed = this.writable()
      if (closed !== undefined) return Exit.fail(closed)
      return this.writePieces(Chunk.toReadonlyArray(chunk)) ? Exit.void : this.drained()
    })
  }

  private makeSinkLoop(): SinkLoop {
    const again = () => loop
    // Sink.forEachChunk followed by `end`, as one reader: every chunk is written, then FIN.
    const loop: SinkLoop = Channel.readWithCause({
      onInput: (chunk: Chunk.Chunk<Uint8Array>) => Channel.flatMap(Channel.fromEffect(this.writeChunk(chunk)), again),
      onFailure: Channel.failCause,
      onDone: () => Channel.fromEffect(this.end)
    })
    return loop
  }

  get sink(): Sink.Sink<void, Uint8Array, never, ConnectionError> {
    return Sink.fromChannel(this.lazy.sinkLoop ??= this.makeSinkLoop())
  }

  /**
   * `Connection.pipeTo`'s fast path into another socket connection (Go's `WriterTo`): the bytes
   * read ahead are written first, then each read goes to the destination's socket from the read
   * callback, with no fiber wake-up per chunk; when the destination's buffer is over its mark the
   * source stops reading until its `drain`. One `Effect.async` per pipe, without a canceler: an
   * interrupted pipe detaches at its next event (see `Piping.interrupted`), after which this
   * connection reads ahead and pauses as without a reader. Errors are the ones `pull` and `write`
   * give. Other destinations take the generic loop.
   */
  [PipeTo](destination: Connection, end: boolean): Effect.Effect<void, ConnectionError> | undefined {
    if (!(destination instanceof SocketConnection)) return undefined
    return Effect.withFiberRuntime((fiber, status) => {
      const interruptible = RuntimeFlags.interruption(status.runtimeFlags) ? fiber : undefined
      const piping = new Piping(this, destination, end, interruptible)
      // Bound rather than a closure: the parked wait keeps its registration, and a bound function
      // keeps no chain of scopes (100 bytes less per pipe).
      return Effect.async<void, ConnectionError>(piping.start.bind(piping))
    })
  }

  /** Called by `Piping.start` only. */
  startPipe(piping: Piping) {
    // One reader at a time: the pipe takes over from a waiting pull or an earlier pipe.
    const waiter = this.waiter
    this.waiter = undefined
    waiter?.(Effect.fail(this.busyError()))
    if (this.piping !== undefined) this.settlePipe(this.piping, Exit.fail(this.busyError()))
    const destination = piping.destination
    const closed = destination.writable()
    if (closed !== undefined) return piping.resume(Exit.fail(closed))
    this.piping = piping
    destination.addInbound(piping)
    // What was read ahead goes first, then the end or the error if they came already (a pull
    // takes them in that order too).
    const buffered = this.buffered
    this.buffered = undefined
    this.bufferedBytes = 0
    const flowing = buffered === undefined || destination.writePieces(buffered)
    if (this.failure !== undefined || this.ended) this.pipeEnded(piping)
    else if (flowing) this.socket.resume()
    else this.socket.pause() // until the destination's `drain`
  }

  private addInbound(piping: Piping) {
    if (this.inbound === undefined) this.socket.on("drain", SocketConnection.onSocketDrain)
    piping.nextInbound = this.inbound
    this.inbound = piping
  }

  private removeInbound(piping: Piping) {
    if (this.inbound === piping) this.inbound = piping.nextInbound
    else {
      let previous = this.inbound
      while (previous !== undefined && previous.nextInbound !== piping) previous = previous.nextInbound
      if (previous !== undefined) previous.nextInbound = piping.nextInbound
    }
    piping.nextInbound = undefined
    if (this.inbound === undefined) this.socket.off("drain", SocketConnection.onSocketDrain)
  }

  /** The destination errored or closed: every pipe into it fails with `error()`. */
  private failInbound(error: () => ConnectionError) {
    for (let piping = this.inbound; piping !== undefined;) {
      const next = piping.nextInbound
      piping.source.settlePipe(piping, Exit.fail(error()))
      piping = next
    }
  }

  /** The destination drained: read on, unless the pipe was interrupted meanwhile. */
  private pipeDrained(piping: Piping) {
    if (this.piping !== piping) return
    if (piping.interrupted) this.stopPipe(piping)
    else this.socket.resume()
  }

  /** Source ended or failed (from `wake`): the pipe completes, ending the destination if asked to. */
  private pipeEnded(piping: Piping) {
    if (piping.interrupted) this.stopPipe(piping)
    else if (this.failure !== undefined) this.settlePipe(piping, Exit.fail(this.failure))
    else if (!this.ended) return
    else if (!piping.end) this.settlePipe(piping, Exit.void)
    else if (this.stopPipe(piping)) piping.destination.endThen(piping.resume)
  }

  /**
   * Half-closes and calls `done` once the end is flushed (`finish`), or when the socket is
   * destroyed first, at once if either came already; `Closed` after `detach`. Both `end` and a
   * pipe whose source ended wait with it: the pipe within its own wait, so its fiber is resumed
   * once, when the end is flushed (one wake-up and an `Effect.async` less per piped connection).
   */
  private endThen(done: (exit: Exit.Exit<void, ConnectionError>) => void) {
    const socket = this.socket
    if (this.detached) return done(Exit.fail(this.closedError()))
    if (socket.destroyed || socket.writableFinished) return done(Exit.void)
    // `end(callback)` calls back on `finish`, or with an error when the socket is destroyed
    // first (also when it was ended already): one callback in the stream's list instead of two
    // `once` listeners to add and remove.
    socket.end(() => done(Exit.void))
  }

  /** Detaches the pipe if it still runs; returns whether it did. */
  private stopPipe(piping: Piping): boolean {
    if (this.piping !== piping) return false
    this.piping = undefined
    piping.destination.removeInbound(piping)
    return true
  }

  private settlePipe(piping: Piping, outcome: Effect.Effect<void, ConnectionError>) {
    if (this.stopPipe(piping)) piping.resume(outcome)
  }

  get end(): Effect.Effect<void, ConnectionError> {
    return Effect.async((resume) => this.endThen(resume))
  }

  get closed(): Effect.Effect<void> {
    return Effect.async((resume) => {
      const socket = this.socket
      if (socket.closed) return resume(Exit.void)
      const onClose = () => resume(Exit.void)
      socket.once("close", onClose)
      return Effect.sync(() => socket.off("close", onClose))
    })
  }

  get close(): Effect.Effect<void> {
    // Unlike `closed`, no canceler (an `onInterrupt` per close): after `destroy`, "close" follows
    // within the event loop turn, so an interrupted wait leaves its listener only until then.
    return Effect.async((resume) => {
      const socket = this.socket
      if (socket.closed) return resume(Exit.void)
      socket.once("close", () => resume(Exit.void))
      socket.destroy()
    })
  }
}
