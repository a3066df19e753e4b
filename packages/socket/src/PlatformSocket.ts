/**
 * Interop with `@effect/platform`: an effect-socket `Connection` as a platform `Socket.Socket`
 * (and back), a `Connector` as a platform `Socket` layer, and a `Server` as a platform
 * `SocketServer`, so that `Socket.toChannel`, `@effect/rpc`'s socket protocol and other code
 * written against `@effect/platform` run over any effect-socket transport (TCP, TLS, Unix).
 *
 * @since 0.1.0
 */
import * as Socket from "@effect/platform/Socket"
import * as SocketServer from "@effect/platform/SocketServer"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as FiberSet from "effect/FiberSet"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Queue from "effect/Queue"
import * as Scope from "effect/Scope"
import * as Sink from "effect/Sink"
import * as Stream from "effect/Stream"
import * as Take from "effect/Take"
import type { Connection } from "./Connection.js"
import { TypeId as ConnectionTypeId } from "./Connection.js"
import { Connector } from "./Connector.js"
import * as Server from "./Server.js"
import type { ConnectError, ServerError } from "./SocketError.js"
import { ConnectionError } from "./SocketError.js"

const socketError = (reason: "Open" | "Read" | "Write") => (cause: ConnectError | ConnectionError) =>
  new Socket.SocketGenericError({ reason, cause })

/**
 * A platform `Socket` that opens a connection with `open` for each `run`, as
 * `@effect/platform-node`'s `NodeSocket.makeNet` does. Data chunks go to the handler in order;
 * the handler's effects run concurrently, as the platform's do. `run` ends when the peer
 * half-closes and fails with a `SocketGenericError` on a read error or a handler failure.
 * Writing a `CloseEvent` closes the connection; releasing the writer half-closes it.
 *
 * @since 0.1.0
 * @category constructors
 */
export const makeSocket = <E extends ConnectError>(
  open: Effect.Effect<Connection, E, Scope.Scope>
): Socket.Socket => {
  let current: Connection | undefined
  const latch = Effect.unsafeMakeLatch(false)
  const run = <_, E2, R>(
    handler: (data: Uint8Array) => Effect.Effect<_, E2, R> | void,
    options?: { readonly onOpen?: Effect.Effect<void> | undefined }
  ): Effect.Effect<void, Socket.SocketError | E2, R> =>
    Effect.scopedWith((scope) =>
      Effect.gen(function*() {
        const connection = yield* Scope.extend(Effect.mapError(open, socketError("Open")), scope)
        const handlers = yield* Scope.extend(FiberSet.make<unknown, E2>(), scope)
        const runHandler = yield* FiberSet.runtime(handlers)<R>()
        current = connection
        yield* latch.open
        if (options?.onOpen) yield* options.onOpen
        const reading = Stream.runForEach(connection.read, (chunk) =>
          Effect.sync(() => {
            const result = handler(chunk)
            if (Effect.isEffect(result)) runHandler(result)
          })).pipe(Effect.mapError(socketError("Read")))
        yield* Effect.raceFirst(reading, FiberSet.join(handlers))
      })
    ).pipe(
      Effect.ensuring(Effect.sync(() => {
        latch.unsafeClose()
        current = undefined
      })),
      Effect.interruptible
    )
  const write = (chunk: Uint8Array | string | Socket.CloseEvent): Effect.Effect<void, Socket.SocketError> =>
    latch.whenOpen(Effect.suspend(() => {
      const connection = current!
      return Socket.isCloseEvent(chunk)
        ? connection.close
        : Effect.mapError(connection.write(chunk), socketError("Write"))
    }))
  return Socket.Socket.of({
    [Socket.TypeId]: Socket.TypeId,
    run,
    runRaw: run,
    writer: Effect.acquireRelease(
      Effect.succeed(write),
      () => Effect.suspend(() => (current === undefined ? Effect.void : Effect.ignore(current.end)))
    )
  })
}

/**
 * The platform `Socket` view of one open connection: {@link makeSocket} over it. Only the first
 * `run` sees data: a connection is not reopened.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toSocket = (connection: Connection): Socket.Socket => makeSocket(Effect.succeed(connection))

/**
 * A platform `Socket` layer that connects to `uri` with the `Connector` in context on every
 * `run` (so `@effect/rpc`'s client reconnects through it). Failing to connect fails `run` with
 * a `SocketGenericError` of reason `Open` whose cause is the `ConnectError`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSocket = (uri: string): Layer.Layer<Socket.Socket, never, Connector> =>
  Layer.effect(Socket.Socket, Effect.map(Connector, (connector) => makeSocket(connector.connect(uri))))

/**
 * A `Connection` over a platform `Socket`, running it in the scope. The platform `Socket` has
 * no read backpressure and no half-close of its own: reads are queued as they arrive, and `end`
 * releases its writer (which half-closes Node sockets). Addresses are `None`.
 *
 * @since 0.1.0
 * @category conversions
 */
export const fromSocket = (socket: Socket.Socket): Effect.Effect<Connection, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const incoming = yield* Queue.unbounded<Take.Take<Uint8Array, ConnectionError>>()
    const opened = yield* Deferred.make<void>()
    const done = yield* Deferred.make<void, ConnectionError>()
    const writerScope = yield* Scope.fork(scope, ExecutionStrategy.sequential)
    const failure = (reason: "Read" | "Write", code: string) => (cause: unknown) =>
      new ConnectionError({ reason, address: Option.none(), code, cause })
    // A handler that returns no Effect runs synchronously: chunks are queued in order, none lost.
    const onData = (chunk: Uint8Array) => {
      Queue.unsafeOffer(incoming, Take.of(chunk))
    }
    yield* socket.run(onData, { onOpen: Deferred.succeed(opened, undefined) }).pipe(
      Effect.mapError(failure("Read", "EIO")),
      Effect.exit,
      Effect.tap((exit) => Queue.offer(incoming, Exit.isSuccess(exit) ? Take.end : Take.failCause(exit.cause))),
      Effect.flatMap((exit) => Deferred.done(done, exit)),
      Effect.forkIn(scope)
    )
    yield* Effect.raceFirst(Deferred.await(opened), Effect.ignore(Deferred.await(done)))
    const writeRaw = yield* Scope.extend(socket.writer, writerScope)
    const write = (data: Uint8Array | string) => Effect.mapError(writeRaw(data), failure("Write", "EPIPE"))
    const end = Scope.close(writerScope, Exit.void)
    // The end or the failure, once taken from the queue, answers every later pull too.
    let last: Take.Take<Uint8Array, ConnectionError> | undefined
    const pull = Effect.flatMap(
      Effect.suspend(() => last === undefined ? Queue.take(incoming) : Effect.succeed(last)),
      (take) =>
        Take.match(take, {
          onEnd: () => {
            last = take
            return Effect.succeedNone
          },
          onFailure: (cause) => {
            last = take
            return Effect.failCause(cause)
          },
          onSuccess: Effect.succeedSome
        })
    )
    const connection: Connection = {
      [ConnectionTypeId]: ConnectionTypeId,
      remoteAddress: Option.none(),
      localAddress: Option.none(),
      read: Stream.repeatEffectChunkOption(
        Effect.flatMap(Effect.mapError(pull, Option.some), Option.match({ onNone: () => Effect.fail(Option.none()), onSome: Effect.succeed }))
      ),
      pull,
      write,
      sink: Sink.forEach(write).pipe(Sink.flatMap(() => Sink.fromEffect(end))),
      end,
      close: Effect.zipRight(Effect.ignore(writeRaw(new Socket.CloseEvent())), end),
      closed: Effect.ignore(Deferred.await(done))
    }
    return connection
  })

const platformAddress = (address: string): SocketServer.Address => {
  const unix = /^unix:\/\/(.*)$/.exec(address)
  if (unix) return { _tag: "UnixAddress", path: unix[1]! }
  const url = new URL(address.replace(/^[a-z]+:/, "http:"))
  return { _tag: "TcpAddress", hostname: url.hostname.replace(/^\[|\]$/g, ""), port: Number(url.port) }
}

/**
 * A platform `SocketServer` over an effect-socket `Server`: `run` serves every connection as a
 * platform `Socket` (see {@link toSocket}) with `Server.serve`, and fails with a
 * `SocketServerError` if the connection stream fails.
 *
 * @since 0.1.0
 * @category conversions
 */
export const toSocketServer = (server: Server.Server): SocketServer.SocketServer["Type"] =>
  SocketServer.SocketServer.of({
    address: platformAddress(server.address),
    run: <R, E, _>(handler: (socket: Socket.Socket) => Effect.Effect<_, E, R>) =>
      Server.serve(server, (connection) => handler(toSocket(connection))).pipe(
        Effect.mapError((cause: ServerError) => new SocketServer.SocketServerError({ reason: "Unknown", cause })),
        Effect.zipRight(Effect.never)
      ) as Effect.Effect<never, SocketServer.SocketServerError, R>
  })

/**
 * Provides the platform `SocketServer` from an effect-socket server made by `make` (for
 * example `TcpServer.make(0)` or a `TlsServer`), which lives as long as the layer.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSocketServer = <E, R>(
  make: Effect.Effect<Server.Server, E, R>
): Layer.Layer<SocketServer.SocketServer, E, Exclude<R, Scope.Scope>> =>
  Layer.scoped(SocketServer.SocketServer, Effect.map(make, toSocketServer))
