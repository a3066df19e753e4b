import type { Connection } from "@effect-socket/socket/Connection"
import type { HasAcceptPull, HasAcceptPush } from "@effect-socket/socket/internal/acceptPull"
import { AcceptPull, AcceptPush } from "@effect-socket/socket/internal/acceptPull"
import { fromPull } from "@effect-socket/socket/internal/pullStream"
import type { Server } from "@effect-socket/socket/Server"
import { TypeId } from "@effect-socket/socket/Server"
import { ListenError, ServerError } from "@effect-socket/socket/SocketError"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Option from "effect/Option"
import * as PubSub from "effect/PubSub"
import * as Runtime from "effect/Runtime"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as net from "node:net"
import { describe } from "./errno.js"
import type { AddressFormat } from "./socketConnection.js"
import { SocketConnection } from "./socketConnection.js"

/** What a listening server needs to know, whatever it listens on (TCP, Unix path, inherited fd). */
export interface ListenSpec {
  /** The URI as the user meant it, for error messages. */
  readonly uri: string
  /** What `net.Server.listen` is given: `{ host, port }`, `{ path }` or `{ fd }`. */
  readonly listen: net.ListenOptions | { readonly fd: number }
  /** Bound on connections accepted while nobody pulls (the emulated kernel backlog). */
  readonly backlog: number
  readonly serverOptions?: net.ServerOpts
  /** The bound address as a URI, read once listening. */
  readonly address: (server: net.Server) => string
  /** How accepted connections name their ends. */
  readonly addresses: AddressFormat
  readonly readHighWaterMark?: number
}

type Waiter = (resume: Effect.Effect<Chunk.Chunk<Connection> | undefined>) => void

const endOfStream = Exit.succeed(undefined)

/**
 * Accepted connections waiting for a pull. Node cannot stop accept(), so while nobody pulls,
 * sockets are accepted paused (`pauseOnConnect`) and held here, up to the backlog; past it they
 * are closed at once and reported, as a full kernel backlog would refuse them.
 */
class AcceptQueue {
  private held: Array<Connection> = []
  private waiter: Waiter | undefined = undefined
  private closed = false
  /** Every socket accepted and not yet closed, handed out or not: the scope closes them all. */
  readonly open = new Set<net.Socket>()

  constructor(
    private readonly spec: ListenSpec,
    private readonly report: (error: ServerError) => void,
    private readonly address: () => string
  ) {}

  accept(socket: net.Socket) {
    if (this.closed) {
      socket.destroy()
      return
    }
    const connection = new SocketConnection(socket, this.spec.addresses, this.spec.readHighWaterMark, {
      sharedReadBuffer: true,
      onClose: this.forget
    })
    // A push or a waiting pull takes it at once, so it does not count against the backlog.
    const pushed = this.push !== undefined && this.push(connection)
    if (pushed || this.waiter !== undefined || this.held.length < this.spec.backlog) {
      this.open.add(socket)
      if (pushed) return
      this.held.push(connection)
      this.wake()
    } else {
      const remoteAddress = connection.remoteAddress
      socket.destroy()
      this.report(new ServerError({
        reason: "BacklogFull",
        address: this.address(),
        remoteAddress,
        code: "ECONNREFUSED",
        detail: `More than ${this.spec.backlog} connections waiting to be accepted`
      }))
    }
  }

  /** See `AcceptPush`: `Server.serve` takes connections as they come, without a pull. */
  private push: ((connection: Connection) => boolean) | undefined = undefined

  readonly register = (onConnection: (connection: Connection) => boolean) => {
    this.push = onConnection
    return () => {
      if (this.push === onConnection) this.push = undefined
    }
  }

  /** One function for every socket (no closure per connection). */
  private readonly forget = (socket: net.Socket) => {
    this.open.delete(socket)
  }

  /**
   * Resumes a waiting pull by having it pull again; the connections stay held until a pull
   * takes them, so a pull interrupted meanwhile (its waiter stale) loses none. Hence no
   * canceler per wait.
   */
  private wake() {
    const waiter = this.waiter
    if (waiter === undefined) return
    this.waiter = undefined
    waiter(this.pull)
  }

  private readonly wait = Effect.async<Chunk.Chunk<Connection> | undefined>((resume) => {
    this.waiter = resume
  })

  /** The connections held, all at once; `undefined` once closed; waits while there are none. */
  readonly pull: Effect.Effect<Chunk.Chunk<Connection> | undefined> = Effect.suspend(() => {
    if (this.held.length > 0) {
      const chunk = Chunk.unsafeFromArray(this.held)
      this.held = []
      return Exit.succeed(chunk)
    }
    return this.closed ? endOfStream : this.wait
  })

  /** The connection stream: one `write` per pull (see SocketConnection's read channel). */
  readonly connections: Stream.Stream<Connection, ServerError> = fromPull(this.pull)

  close() {
    this.closed = true
    this.held = []
    this.wake()
    for (const socket of this.open) socket.destroy()
  }
}

/** Listens; once listening, and before anything else can run, `onListening` installs what serves. */
const listenOn = (server: net.Server, spec: ListenSpec, onListening: () => void) =>
  Effect.async<void, ListenError>((resume) => {
    const onError = (error: Error) => {
      const { code, detail } = describe(error)
      resume(Effect.fail(new ListenError({ reason: "Listen", uri: spec.uri, code, detail, cause: error })))
    }
    server.once("error", onError)
    server.listen({ ...spec.listen, backlog: spec.backlog }, () => {
      server.off("error", onError)
      onListening()
      resume(Effect.void)
    })
  })

const closeServer = (server: net.Server, queue: AcceptQueue) =>
  Effect.async<void>((resume) => {
    // net.Server.close waits for every open connection: the queue destroys them first.
    server.close(() => resume(Effect.void))
    queue.close()
  })

/**
 * Listens as `spec` says and returns the `Server`. Closing the scope stops listening, closes
 * every connection it accepted (handed out or held) and ends the connection stream.
 */
export const listen = (spec: ListenSpec): Effect.Effect<Server, ListenError, Scope.Scope> =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<never>()
    const errors = yield* Effect.acquireRelease(PubSub.sliding<ServerError>(256), PubSub.shutdown)
    const report = (error: ServerError) =>
      Runtime.runFork(runtime)(
        PubSub.publish(errors, error).pipe(Effect.zipRight(Effect.logDebug(error.message)))
      )
    const server = net.createServer({ pauseOnConnect: true, allowHalfOpen: true, ...spec.serverOptions })
    let address = spec.uri
    const queue = new AcceptQueue(spec, report, () => address)
    // The listeners go on in the listen callback, not after this fiber resumes: the fiber may
    // resume after an event-loop turn, and a connection accepted with no listener would be
    // neither queued nor closed (and net.Server.close would wait for it forever).
    const onListening = () => {
      address = spec.address(server)
      server.on("connection", (socket) => queue.accept(socket))
      server.on("error", (error) => {
        const { code, detail } = describe(error)
        report(new ServerError({ reason: "Accept", address, remoteAddress: Option.none(), code, detail, cause: error }))
      })
    }
    yield* Effect.acquireRelease(listenOn(server, spec, onListening), () => closeServer(server, queue)).pipe(
      Effect.onError(() => Effect.sync(() => server.close()))
    )
    return {
      [TypeId]: TypeId,
      address,
      connections: queue.connections,
      errors: Stream.fromPubSub(errors),
      // `Server.serve` takes the queue's pull directly, without a stream around it.
      [AcceptPull]: queue.pull,
      [AcceptPush]: queue.register
    } satisfies Server & HasAcceptPull & HasAcceptPush
  })
