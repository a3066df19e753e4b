import type { Connection } from "@effect-socket/socket/Connection"
import { fromPull } from "@effect-socket/socket/internal/pullStream"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Stream from "effect/Stream"

/**
 * Starts a task for `connection` and returns how to cancel it, or `undefined` when it already
 * ended (it called `done` before returning). The task calls `done` once, with the connection to
 * hand out or with nothing, unless it was cancelled.
 */
export type Start = (connection: Connection, done: (result: Connection | undefined) => void) => (() => void) | undefined

/** The tasks in flight, their results waiting for a pull, and the slots they hold. */
class Tasks<E> {
  private ready: Array<Connection> = []
  private readonly running = new Set<() => void>()
  /** Slots held: tasks running plus results not pulled yet. */
  private held = 0
  private upstream: Exit.Exit<void, E> | undefined = undefined
  private waiter: ((resume: Effect.Effect<Chunk.Chunk<Connection> | undefined, E>) => void) | undefined = undefined
  private slotWaiter: ((resume: Effect.Effect<void>) => void) | undefined = undefined

  constructor(private readonly start: Start, private readonly bound: number) {}

  /** Runs the task for each connection of `connections` in turn, each once a slot is free. */
  readonly offer = (connections: Chunk.Chunk<Connection>): Effect.Effect<void> => {
    const iterator = connections[Symbol.iterator]()
    let next = iterator.next()
    const loop: Effect.Effect<void> = Effect.suspend(() => {
      for (; !next.done; next = iterator.next()) {
        if (this.held >= this.bound) return Effect.zipRight(this.slotFreed, loop)
        this.run(next.value)
      }
      return Effect.void
    })
    return loop
  }

  /** Runs a task now, in a free slot. */
  private run(connection: Connection) {
    this.held++
    let cancel: (() => void) | undefined = undefined
    let ended = false
    cancel = this.start(connection, (result) => {
      ended = true
      if (cancel !== undefined) this.running.delete(cancel)
      if (result !== undefined) this.ready.push(result)
      // A slot is held until its result is handed out, so results never pile up unpulled.
      else this.release(1)
      this.wake()
    })
    if (cancel !== undefined && !ended) this.running.add(cancel)
  }

  ended(exit: Exit.Exit<void, E>) {
    this.upstream = exit
    this.wake()
  }

  /** When the stream's scope closes: cancels the tasks in flight, returns the results nobody pulled. */
  stop(): ReadonlyArray<Connection> {
    for (const cancel of this.running) cancel()
    this.running.clear()
    const ready = this.ready
    this.ready = []
    return ready
  }

  private release(slots: number) {
    this.held -= slots
    const waiter = this.slotWaiter
    if (waiter === undefined) return
    this.slotWaiter = undefined
    waiter(Effect.void)
  }

  // As in the accept queue: waiters are woken by being told to look again, so no canceler.
  private wake() {
    const waiter = this.waiter
    if (waiter === undefined) return
    this.waiter = undefined
    waiter(this.pull)
  }

  private readonly slotFreed = Effect.async<void>((resume) => {
    this.slotWaiter = resume
  })

  private readonly wait = Effect.async<Chunk.Chunk<Connection> | undefined, E>((resume) => {
    this.waiter = resume
  })

  readonly pull: Effect.Effect<Chunk.Chunk<Connection> | undefined, E> = Effect.suspend((): Effect.Effect<Chunk.Chunk<Connection> | undefined, E> => {
    const ready = this.ready
    if (ready.length > 0) {
      this.ready = []
      this.release(ready.length)
      return Exit.succeed(Chunk.unsafeFromArray(ready))
    }
    const upstream = this.upstream
    if (upstream !== undefined && Exit.isFailure(upstream)) return Exit.failCause(upstream.cause)
    if (upstream !== undefined && this.running.size === 0) return Exit.succeed(undefined)
    return this.wait
  })
}

/**
 * `Stream.mapEffect(task, { concurrency: bound, unordered: true })` for connections whose task
 * is callback-driven (a TLS handshake), dropping the tasks that give nothing: at most `bound`
 * tasks run or wait to be pulled at once (the upstream is not pulled meanwhile), and results come
 * out in the order they finish. No fiber per task: `Stream.mapEffect` runs a sub-stream per
 * element through its merge machinery (400 µs of CPU per element), and a fiber plus a semaphore
 * permit per task were part of the 300–400 µs per TLS handshake this saved (docs/performance.md).
 * Closing the stream cancels the running tasks and closes the connections nobody pulled.
 */
export const mapConcurrently = <E>(
  upstream: Stream.Stream<Connection, E>,
  start: Start,
  bound: number
): Stream.Stream<Connection, E> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const tasks = new Tasks<E>(start, bound)
    yield* Effect.addFinalizer(() => Effect.forEach(tasks.stop(), (connection) => connection.close, { discard: true }))
    yield* Effect.forkScoped(
      Effect.onExit(Stream.runForEachChunk(upstream, tasks.offer), (exit) => Effect.sync(() => tasks.ended(Exit.asVoid(exit))))
    )
    return fromPull(tasks.pull)
  }))
