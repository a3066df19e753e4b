import type { Connection } from "@effect-socket/socket/Connection"
import { fromPull } from "@effect-socket/socket/internal/pullStream"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"

/** Results waiting for a pull, and what the pull returns once there are none. */
class Results<E> {
  private ready: Array<Connection> = []
  private running = 0
  private upstream: Exit.Exit<void, E> | undefined = undefined
  private waiter: ((resume: Effect.Effect<Chunk.Chunk<Connection> | undefined, E>) => void) | undefined = undefined

  constructor(private readonly release: (permits: number) => Effect.Effect<void>) {}

  started() {
    this.running++
  }

  /** A task ended with `connection`, or with nothing (its slot is freed at once). */
  settle(connection: Connection | undefined): Effect.Effect<void> {
    this.running--
    if (connection !== undefined) this.ready.push(connection)
    this.wake()
    return connection === undefined ? this.release(1) : Effect.void
  }

  ended(exit: Exit.Exit<void, E>) {
    this.upstream = exit
    this.wake()
  }

  /** Whatever is left unpulled when the stream's scope closes. */
  takeAll(): ReadonlyArray<Connection> {
    const ready = this.ready
    this.ready = []
    return ready
  }

  // As in the accept queue: a waiter is woken by being told to pull again, so no canceler.
  private wake() {
    const waiter = this.waiter
    if (waiter === undefined) return
    this.waiter = undefined
    waiter(this.pull)
  }

  private readonly wait = Effect.async<Chunk.Chunk<Connection> | undefined, E>((resume) => {
    this.waiter = resume
  })

  readonly pull: Effect.Effect<Chunk.Chunk<Connection> | undefined, E> = Effect.suspend((): Effect.Effect<Chunk.Chunk<Connection> | undefined, E> => {
    const ready = this.ready
    if (ready.length > 0) {
      this.ready = []
      // A slot is held until its result is handed out, so results never pile up unpulled.
      return Effect.as(this.release(ready.length), Chunk.unsafeFromArray(ready))
    }
    const upstream = this.upstream
    if (upstream !== undefined && Exit.isFailure(upstream)) return Exit.failCause(upstream.cause)
    if (upstream !== undefined && this.running === 0) return Exit.succeed(undefined)
    return this.wait
  })
}

/**
 * `Stream.mapEffect(task, { concurrency: bound, unordered: true })` for connections, dropping
 * the tasks that give `undefined`: at most `bound` tasks run or wait to be pulled at once, and
 * results come out in the order they finish. Each element costs a semaphore permit and a fiber,
 * where `Stream.mapEffect` runs a sub-stream through its merge machinery (measured: 400 µs of
 * CPU per element, docs/performance.md). Closing the stream interrupts the running tasks and
 * closes the connections nobody pulled.
 */
export const mapConcurrently = <E>(
  upstream: Stream.Stream<Connection, E>,
  task: (connection: Connection) => Effect.Effect<Connection | undefined>,
  bound: number
): Stream.Stream<Connection, E> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const slots = yield* Effect.makeSemaphore(bound)
    const results = new Results<E>((permits) => slots.release(permits))
    const start = (connection: Connection) =>
      Effect.zipRight(
        slots.take(1),
        Effect.suspend(() => {
          results.started()
          return Effect.forkScoped(Effect.flatMap(task(connection), (result) => results.settle(result)))
        })
      )
    yield* Effect.addFinalizer(() => Effect.forEach(results.takeAll(), (connection) => connection.close, { discard: true }))
    yield* Effect.forkScoped(
      Effect.onExit(Stream.runForEach(upstream, start), (exit) => Effect.sync(() => results.ended(Exit.asVoid(exit))))
    )
    return fromPull(results.pull)
  }))
