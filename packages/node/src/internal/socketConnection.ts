import type { Connection } from "@effect-socket/socket/Connection"
import { TypeId } from "@effect-socket/socket/Connection"
import { ConnectionError } from "@effect-socket/socket/SocketError"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import type * as net from "node:net"
import { describe } from "./errno.js"

/** How a connection names its two ends: `tcp://127.0.0.1:80`, `unix:///run/x.sock`, … */
export interface AddressFormat {
  readonly remote: (socket: net.Socket) => string | undefined
  readonly local: (socket: net.Socket) => string | undefined
}

/** Bytes read ahead of the consumer before the socket is paused (TCP flow control takes over). */
export const DEFAULT_READ_HIGH_WATER_MARK = 64 * 1024

type Waiter = (exit: Exit.Exit<Chunk.Chunk<Uint8Array>, Option.Option<ConnectionError>>) => void

const endOfStream = Exit.fail(Option.none())

/**
 * A `Connection` over a `net.Socket` (or `tls.TLSSocket`). A class rather than closures: an
 * idle connection costs one object and its socket, and no fiber is parked on it.
 *
 * Reading: the socket flows only while a pull waits or the read-ahead is below the high-water
 * mark; data events accumulate and each pull takes everything accumulated as one chunk.
 */
export class SocketConnection implements Connection {
  readonly [TypeId]: typeof TypeId = TypeId
  private buffered: Array<Uint8Array> = []
  private bufferedBytes = 0
  private ended = false
  private failure: ConnectionError | undefined = undefined
  private waiter: Waiter | undefined = undefined
  /**
   * Read at once: Node forgets a socket's addresses when it is destroyed, which is exactly when
   * errors need to name the peer.
   */
  private readonly remote: string | undefined
  private local: string | undefined = undefined

  private detached = false
  private readonly listeners = {
    data: (data: Buffer) => this.onData(data),
    end: () => this.onEnd(),
    error: (error: Error) => this.onError(error),
    close: () => this.onEnd()
  }

  constructor(
    readonly socket: net.Socket,
    private readonly addresses: AddressFormat,
    readonly highWaterMark: number = DEFAULT_READ_HIGH_WATER_MARK
  ) {
    socket.pause()
    this.remote = addresses.remote(socket)
    // A socket held in an accept queue may have been reset before anyone wrapped it.
    if (socket.destroyed) this.ended = true
    // An error listener stays attached for the socket's whole life (or until `detach` hands the
    // socket to a new owner), so that a late reset or a write after the peer left never becomes
    // an uncaught exception.
    for (const [event, listener] of Object.entries(this.listeners)) socket.on(event, listener)
  }

  /**
   * Hands the socket over to a new owner (STARTTLS): pauses it, removes this connection's
   * listeners and returns the bytes read ahead and not yet pulled, oldest first. Afterwards this
   * connection's `read` ends, `write` and `end` fail with `Closed`; `close` still destroys the
   * socket, and with it whatever now wraps it.
   */
  detach(): ReadonlyArray<Uint8Array> {
    const buffered = this.buffered
    this.buffered = []
    this.bufferedBytes = 0
    this.detached = true
    this.ended = true
    this.socket.pause()
    for (const [event, listener] of Object.entries(this.listeners)) this.socket.off(event, listener)
    this.wake()
    return buffered
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
    this.local ??= this.addresses.local(this.socket)
    return Option.fromNullable(this.local)
  }

  private onData(data: Buffer) {
    const waiter = this.waiter
    if (waiter !== undefined && this.buffered.length === 0) {
      // Keep flowing: data that arrives before the next pull is read ahead, up to the mark.
      this.waiter = undefined
      waiter(Exit.succeed(Chunk.of(data)))
      return
    }
    this.buffered.push(data)
    this.bufferedBytes += data.length
    if (this.bufferedBytes >= this.highWaterMark) this.socket.pause()
    this.wake()
  }

  private onEnd() {
    this.ended = true
    this.wake()
  }

  private onError(error: Error) {
    // While paused, Node reads ahead into the socket's own buffer; on an error it destroys the
    // socket and never emits those bytes, though they came before the error: take them now.
    for (let data: Buffer | null; (data = this.socket.read() as Buffer | null) !== null;) this.onData(data)
    if (this.failure === undefined) {
      const { code, detail } = describe(error)
      this.failure = new ConnectionError({ reason: "Read", address: this.peer, code, detail, cause: error })
    }
    this.wake()
  }

  private wake() {
    const waiter = this.waiter
    if (waiter === undefined) return
    const exit = this.takeBuffered()
    if (exit !== undefined) {
      this.waiter = undefined
      waiter(exit)
    }
  }

  /** What a pull returns now, or `undefined` when it must wait. */
  private takeBuffered(): Exit.Exit<Chunk.Chunk<Uint8Array>, Option.Option<ConnectionError>> | undefined {
    if (this.buffered.length > 0) {
      const chunk = Chunk.unsafeFromArray(this.buffered)
      this.buffered = []
      this.bufferedBytes = 0
      return Exit.succeed(chunk)
    }
    if (this.failure !== undefined) return Exit.fail(Option.some(this.failure))
    if (this.ended) return endOfStream
    return undefined
  }

  private readonly pull: Effect.Effect<Chunk.Chunk<Uint8Array>, Option.Option<ConnectionError>> = Effect.suspend(() => {
    const ready = this.takeBuffered()
    if (ready !== undefined) {
      if (!this.ended) this.socket.resume()
      return ready
    }
    return Effect.async<Chunk.Chunk<Uint8Array>, Option.Option<ConnectionError>>((resume) => {
      this.waiter = resume
      this.socket.resume()
      return Effect.sync(() => {
        this.waiter = undefined
        this.socket.pause()
      })
    })
  })

  get read(): Stream.Stream<Uint8Array, ConnectionError> {
    return Stream.repeatEffectChunkOption(this.pull)
  }

  private closedError(): ConnectionError {
    return new ConnectionError({ reason: "Closed", address: this.peer, code: "EPIPE", detail: "Connection is closed for writing" })
  }

  private writeFailure(error: unknown): ConnectionError {
    const { code, detail } = describe(error, "EPIPE")
    return new ConnectionError({ reason: "Write", address: this.peer, code, detail, cause: error })
  }

  /** Waits for `drain`, or fails if the socket errors or closes first. */
  private readonly drained: Effect.Effect<void, ConnectionError> = Effect.async((resume) => {
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

  private writable(): ConnectionError | undefined {
    const socket = this.socket
    if (this.detached || socket.destroyed || socket.writableEnded) return this.closedError()
    return undefined
  }

  readonly write = (data: Uint8Array | string): Effect.Effect<void, ConnectionError> =>
    Effect.suspend(() => {
      const closed = this.writable()
      if (closed !== undefined) return Effect.fail(closed)
      return this.socket.write(data) ? Effect.void : this.drained
    })

  private writeChunk(chunk: Chunk.Chunk<Uint8Array>): Effect.Effect<void, ConnectionError> {
    return Effect.suspend(() => {
      const closed = this.writable()
      if (closed !== undefined) return Effect.fail(closed)
      const socket = this.socket
      socket.cork()
      let ok = true
      for (const data of chunk) ok = socket.write(data)
      socket.uncork()
      return ok ? Effect.void : this.drained
    })
  }

  get sink(): Sink.Sink<void, Uint8Array, never, ConnectionError> {
    return Sink.forEachChunk((chunk: Chunk.Chunk<Uint8Array>) => this.writeChunk(chunk)).pipe(
      Sink.flatMap(() => Sink.fromEffect(this.end))
    )
  }

  readonly end: Effect.Effect<void, ConnectionError> = Effect.async((resume) => {
    const socket = this.socket
    if (this.detached) return resume(Exit.fail(this.closedError()))
    if (socket.destroyed || socket.writableFinished) return resume(Exit.void)
    const onFinish = () => {
      socket.off("close", onFinish)
      socket.off("finish", onFinish)
      resume(Exit.void)
    }
    socket.once("finish", onFinish)
    socket.once("close", onFinish)
    if (!socket.writableEnded) socket.end()
  })

  readonly closed: Effect.Effect<void> = Effect.async((resume) => {
    const socket = this.socket
    if (socket.closed) return resume(Exit.void)
    const onClose = () => resume(Exit.void)
    socket.once("close", onClose)
    return Effect.sync(() => socket.off("close", onClose))
  })

  readonly close: Effect.Effect<void> = Effect.suspend(() => {
    this.socket.destroy()
    return this.closed
  })
}
