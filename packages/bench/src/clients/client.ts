import type * as dns from "node:dns"
import type { BulkResult, ConnRateResult, EyeballsResult, PingPongResult, TlsTrust } from "../protocol.js"

export interface BulkOptions {
  readonly port: number
  /** Total bytes to send. */
  readonly bytes: number
  /** Bytes per write. */
  readonly chunk: number
  /** TLS 1.3 trusting this certificate; plain TCP when undefined. */
  readonly tls?: TlsTrust | undefined
}

export interface PingPongOptions {
  readonly port: number
  readonly connections: number
  /** Message size, bytes. */
  readonly size: number
  readonly window: MeasureWindow
}

export interface ConnRateOptions {
  readonly port: number
  readonly concurrency: number
  readonly window: MeasureWindow
  /** TLS 1.3 trusting this certificate (a handshake per connection); plain TCP when undefined. */
  readonly tls?: TlsTrust | undefined
}

/**
 * One implementation's client side, written as a user of that library would: connect, write,
 * read what comes back, half-close, wait for the server to finish.
 */
export interface ClientImpl {
  /** Streams `bytes` to a discarding server, half-closes, and waits for the server's FIN. */
  readonly bulk: (options: BulkOptions) => Promise<BulkResult>
  /** Each connection sends `size` bytes, waits for `size` bytes back, again until the window ends. */
  readonly pingPong: (options: PingPongOptions) => Promise<void>
  /** Each of `concurrency` loops: connect, send one byte, wait for it, half-close, wait for close. */
  readonly connRate: (options: ConnRateOptions) => Promise<void>
  /**
   * Connects `attempts` times in a row to `EYEBALLS_HOST:port` with Happy Eyeballs, resolving
   * it with {@link eyeballsAddresses}; each connection is closed once established.
   */
  readonly eyeballs: (port: number, attempts: number) => Promise<EyeballsResult>
}

/** What the Happy Eyeballs name resolves to, preferred first: the black-holed IPv6 path, then IPv4. */
export const eyeballsAddresses: ReadonlyArray<dns.LookupAddress> = [
  { address: "::1", family: 6 },
  { address: "127.0.0.1", family: 4 }
]

/** A `lookup` for Node's `net.connect` that answers {@link eyeballsAddresses} for any name. */
export const eyeballsLookup = (
  _hostname: string,
  options: dns.LookupOptions,
  callback: (error: NodeJS.ErrnoException | null, address: string | Array<dns.LookupAddress>, family?: number) => void
): void => {
  if (options.all === true) callback(null, [...eyeballsAddresses])
  else callback(null, eyeballsAddresses[0]!.address, eyeballsAddresses[0]!.family)
}

/**
 * A warm-up period, then a measured period: events are counted only while `measuring`, and
 * loops stop starting new work once `running` is false.
 */
export class MeasureWindow {
  measuring = false
  running = true
  count = 0
  total = 0
  private readonly latencies: Array<number> = []
  private startedAt = 0
  private endedAt = 0

  constructor(warmupMs: number, durationMs: number) {
    setTimeout(() => {
      this.measuring = true
      this.startedAt = performance.now()
      setTimeout(() => {
        this.measuring = false
        this.running = false
        this.endedAt = performance.now()
      }, durationMs)
    }, warmupMs)
  }

  /** A finished unit of work (a round trip, a connection) that started at `startedAt` (performance.now()). */
  done(startedAt: number) {
    this.total++
    if (!this.measuring) return
    this.count++
    this.latencies.push(performance.now() - startedAt)
  }

  pingPongResult(): PingPongResult {
    const sorted = Float64Array.from(this.latencies).sort()
    const at = (q: number) => sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]! * 1000
    return {
      roundTrips: this.count,
      elapsedMs: this.endedAt - this.startedAt,
      total: this.total,
      p50Us: at(0.5),
      p99Us: at(0.99)
    }
  }

  connRateResult(): ConnRateResult {
    return { connections: this.count, elapsedMs: this.endedAt - this.startedAt, total: this.total }
  }
}

/** `n` bytes of 'x' (0x78), to send. */
export const payload = (n: number): Buffer => Buffer.alloc(n, 0x78)
