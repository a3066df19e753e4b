import type { ChildProcess } from "node:child_process"
import { execFileSync, fork } from "node:child_process"
import * as os from "node:os"
import { fileURLToPath } from "node:url"
import type { Impl, Reply, Request, Role } from "./protocol.js"

const workerPath = fileURLToPath(new URL("./worker.js", import.meta.url))

/** The path of `taskset` when the machine has it and at least two cores to pin to. */
export const tasksetPath = (): string | undefined => {
  if (os.availableParallelism() < 2) return undefined
  try {
    return execFileSync("sh", ["-c", "command -v taskset"], { encoding: "utf8" }).trim() || undefined
  } catch {
    return undefined
  }
}

/**
 * The open-file limit a worker gets when started with `raiseFileLimit`: 65,536 if the hard limit
 * allows, else the hard limit.
 */
const raiseLimit = "ulimit -n 65536 2>/dev/null || ulimit -n \"$(ulimit -Hn)\""

export const raisedFileLimit = (): number => {
  const out = execFileSync("bash", ["-c", `${raiseLimit}; ulimit -n`], { encoding: "utf8" }).trim()
  return out === "unlimited" ? Number.MAX_SAFE_INTEGER : Number(out)
}

export interface WorkerOptions {
  readonly role: Role
  readonly impl: Impl
  /** Core to pin the process to with `taskset`; unpinned when undefined. */
  readonly cpu?: number | undefined
  readonly taskset?: string | undefined
  /** Start through `bash -c 'ulimit -n …; exec node …'`, for workloads with many sockets. */
  readonly raiseFileLimit?: boolean
  /** Extra Node options (`--expose-gc`, `--cpu-prof`, …). */
  readonly nodeOptions?: ReadonlyArray<string>
}

/** A forked worker process (see `worker.ts`) that answers requests one reply each. */
export class Worker {
  private readonly child: ChildProcess
  private nextId = 0
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>()
  private readonly exited: Promise<void>

  constructor(readonly options: WorkerOptions) {
    // fork() runs `execPath ...execArgv workerPath ...args`: the prefix programs exec node in turn,
    // so the IPC channel reaches it.
    const node = [process.execPath, ...(options.nodeOptions ?? [])]
    const pinned = options.cpu !== undefined && options.taskset !== undefined
      ? [options.taskset, "-c", String(options.cpu), ...node]
      : node
    const command = options.raiseFileLimit ? ["bash", "-c", `${raiseLimit}; exec "$@"`, "bash", ...pinned] : pinned
    this.child = fork(workerPath, [options.role, options.impl], {
      execPath: command[0]!,
      execArgv: command.slice(1),
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
    this.child.on("message", (reply: Reply) => {
      const waiter = this.pending.get(reply.id)
      if (waiter === undefined) return
      this.pending.delete(reply.id)
      if (reply.ok) waiter.resolve(reply.result)
      else waiter.reject(new Error(`${options.role} ${options.impl}: ${reply.error}`))
    })
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        for (const waiter of this.pending.values()) {
          waiter.reject(new Error(`${options.role} ${options.impl} exited (${signal ?? code})`))
        }
        this.pending.clear()
        resolve()
      })
    })
  }

  request<A>(request: Request): Promise<A> {
    const id = this.nextId++
    return new Promise<A>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
      this.child.send({ id, ...request })
    })
  }

  /** Disconnects (the worker exits on disconnect) and waits for the exit; kills it after 5 s. */
  async stop(): Promise<void> {
    if (this.child.connected) this.child.disconnect()
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 5_000)
    await this.exited
    clearTimeout(timer)
  }
}
