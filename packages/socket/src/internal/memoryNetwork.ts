/**
 * The in-memory network behind `MemoryNetwork`.
 *
 * @internal
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import type { Connection } from "../Connection.js"
import { DEFAULT_BACKLOG, type Server, TypeId as ServerTypeId } from "../Server.js"
import { ConnectError, ListenError } from "../SocketError.js"
import * as SocketUri from "../SocketUri.js"
import { unsafeMakePair } from "./memoryConnection.js"
import { assertValidOptions, invalidOption } from "./options.js"
import * as Waiters from "./waiters.js"

/** @internal */
export interface NetworkOptions {
  readonly highWaterMark?: number | undefined
}

/** @internal */
export interface ListenOptions {
  readonly backlog?: number | undefined
}

/** Node's and ReactPHP's default listen backlog. */

/** The dynamic (ephemeral) port range, RFC 6335 section 6. */
const FIRST_EPHEMERAL_PORT = 49152
const LAST_EPHEMERAL_PORT = 65535

interface Listener {
  readonly address: string
  /** The address parsed, when it is a host:port URI. */
  readonly uri: Option.Option<SocketUri.SocketUri>
  readonly capacity: number
  /** Server ends connected but not yet taken from `connections`. */
  readonly backlog: Array<Connection>
  /** Server ends not closed yet, in the backlog or accepted: closed with the server. */
  readonly open: Set<Connection>
  closed: boolean
  readonly waiters: Waiters.Waiters
}

const refused = (uri: string) =>
  new ConnectError({ reason: "Failed", uri, code: "ECONNREFUSED", stage: "TCP/IP handshake", detail: "Connection refused" })

/** @internal */
export const make = (options: NetworkOptions = {}) => {
  assertValidOptions("MemoryNetwork.layerWith", options, { highWaterMark: "count" })
  const listeners = new Map<string, Listener>()
  let lastPort = LAST_EPHEMERAL_PORT
  let clients = 0

  const nextPort = () => {
    lastPort = lastPort >= LAST_EPHEMERAL_PORT ? FIRST_EPHEMERAL_PORT : lastPort + 1
    return lastPort
  }

  const keyFor = (uri: SocketUri.SocketUri, port: number) =>
    `${uri.scheme}://${SocketUri.formatHostPort(uri.host, port)}${uri.path}`

  // host:port URIs are keyed in one spelling (`127.0.0.1:80` is `tcp://127.0.0.1:80`), without
  // query or fragment; any other string is its own key.
  const keyOf = (address: string) =>
    Either.match(SocketUri.parseEither(address), {
      onLeft: () => ({ key: address, uri: Option.none<SocketUri.SocketUri>() }),
      onRight: (uri) => ({ key: keyFor(uri, uri.port), uri: Option.some(uri) })
    })

  const freePort = (uri: SocketUri.SocketUri): Option.Option<number> => {
    for (let tried = 0; tried <= LAST_EPHEMERAL_PORT - FIRST_EPHEMERAL_PORT; tried++) {
      const port = nextPort()
      if (!listeners.has(keyFor(uri, port))) return Option.some(port)
    }
    return Option.none()
  }

  const clientAddress = (listener: Listener) =>
    Option.match(listener.uri, {
      onNone: () => `memory://client-${++clients}`,
      onSome: (uri) => `${uri.scheme}://${SocketUri.formatHostPort(uri.host, nextPort())}`
    })

  const bind = (address: string, backlog: number) =>
    Effect.suspend(() => {
      const inUse = Effect.fail(
        new ListenError({ reason: "Listen", uri: address, code: "EADDRINUSE", detail: "Address already in use" })
      )
      let { key, uri } = keyOf(address)
      const ephemeral = Option.filter(uri, (parsed) => parsed.port === 0)
      if (Option.isSome(ephemeral)) {
        const port = freePort(ephemeral.value)
        if (Option.isNone(port)) return inUse
        uri = Option.some({ ...ephemeral.value, port: port.value })
        key = keyFor(ephemeral.value, port.value)
      }
      if (listeners.has(key)) return inUse
      const listener: Listener = {
        address: key,
        uri,
        capacity: backlog,
        backlog: [],
        open: new Set(),
        closed: false,
        waiters: Waiters.make()
      }
      listeners.set(key, listener)
      return Effect.succeed(listener)
    })

  const unbind = (listener: Listener) =>
    Effect.suspend(() => {
      listener.closed = true
      listeners.delete(listener.address)
      listener.backlog.length = 0
      const open = Array.from(listener.open)
      listener.waiters.notify()
      return Effect.forEach(open, (connection) => connection.close, { discard: true })
    })

  const toServer = (listener: Listener): Server => {
    const accept: Effect.Effect<Chunk.Chunk<Connection>, Option.Option<never>> = Effect.suspend(() => {
      if (listener.closed) return Effect.fail(Option.none())
      const next = listener.backlog.shift()
      if (next !== undefined) {
        listener.waiters.notify()
        return Effect.succeed(Chunk.of(next))
      }
      return Effect.zipRight(listener.waiters.until(() => listener.closed || listener.backlog.length > 0), accept)
    })
    return {
      [ServerTypeId]: ServerTypeId,
      address: listener.address,
      connections: Stream.repeatEffectChunkOption(accept),
      // Nothing goes wrong in memory: the stream only ends with the server.
      errors: Stream.drain(Stream.fromEffect(listener.waiters.until(() => listener.closed)))
    }
  }

  const listen = (address: string, listenOptions: ListenOptions = {}): Effect.Effect<Server, ListenError, Scope.Scope> => {
    const invalid = invalidOption(listenOptions, { backlog: "positive" })
    if (invalid !== undefined) return Effect.fail(new ListenError({ reason: "Listen", uri: address, code: "EINVAL", detail: invalid }))
    return Effect.map(Effect.acquireRelease(bind(address, listenOptions.backlog ?? DEFAULT_BACKLOG), unbind), toServer)
  }

  // Hands the server end to the backlog once it has room, as the kernel completes a handshake
  // before accept(); while it is full, `connect` waits (a SYN left unanswered).
  const enqueue = (uri: string, listener: Listener, local: string) =>
    Effect.suspend(() => {
      if (listener.closed) return Effect.fail(refused(uri))
      const pair = unsafeMakePair(
        { highWaterMark: options.highWaterMark, localAddress: local, remoteAddress: listener.address },
        () => listener.open.delete(pair[1])
      )
      listener.backlog.push(pair[1])
      listener.open.add(pair[1])
      listener.waiters.notify()
      return Effect.succeed(pair[0])
    })

  const connect = (uri: string): Effect.Effect<Connection, ConnectError, Scope.Scope> =>
    Effect.suspend(() => {
      const { key } = keyOf(uri)
      const listener = listeners.get(key)
      if (listener === undefined) return Effect.fail(refused(uri))
      const local = clientAddress(listener)
      return Effect.zipRight(
        listener.waiters.until(() => listener.closed || listener.backlog.length < listener.capacity),
        Effect.acquireRelease(enqueue(uri, listener, local), (client) => client.close)
      )
    })

  return { listen, connect }
}
