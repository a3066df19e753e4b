import * as net from "node:net"

/**
 * Size of the one buffer every plain socket of this process reads into: 256 KiB, four times
 * libuv's 64 KiB reads, so that a bulk stream needs a quarter of the read calls and of the
 * wake-ups of the reading fiber. It bounds a single read, hence the read-ahead past the
 * high-water mark.
 */
export const SHARED_READ_BUFFER_SIZE = 256 * 1024

const sharedBuffer = Buffer.allocUnsafe(SHARED_READ_BUFFER_SIZE)

/** Receives each read's bytes; returns `false` to stop reading (the socket pauses). */
export type ReadCallback = (this: net.Socket, bytes: number, buffer: Buffer) => boolean

/**
 * The copy of the first `bytes` bytes of the shared buffer that a reader may keep: the next read
 * of any socket overwrites the shared buffer. One Buffer per read, as Node's `data` events give
 * (consumers that stop mid-chunk, e.g. `Stream.runFoldWhile`, see the same elements as before).
 */
export const copyOut = (bytes: number, buffer: Buffer): Buffer => {
  const copy = Buffer.allocUnsafe(bytes)
  buffer.copy(copy, 0, 0, bytes)
  return copy
}

/** Node's `onread` option for a socket we create (`net.connect`), reading into the shared buffer. */
export const onreadOption = (callback: ReadCallback): net.OnReadOpts => ({
  buffer: sharedBuffer,
  callback: callback as unknown as net.OnReadOpts["callback"]
})

// A socket accepted by net.Server cannot be given `onread`. Node 20's net.Socket keeps the option
// under these symbols (lib/net.js: kBuffer, kBufferCb) and hands the buffer to its handle with
// `useUserBuffer`; setting both on a socket that has not started reading is what the constructor
// would have done. Found by description, so a Node without them falls back to `data` events.
const probe = new net.Socket()
const symbolNamed = (name: string) => Object.getOwnPropertySymbols(probe).find((symbol) => symbol.description === name)
const kBuffer = symbolNamed("kBuffer")
const kBufferCb = symbolNamed("kBufferCb")
probe.destroy()

interface Internals {
  [key: symbol]: unknown
  readonly _handle?: { readonly reading?: boolean; readonly useUserBuffer?: (buffer: Buffer) => void } | null
}

/** Whether `socket` already reads into the shared buffer with `callback` (set up by {@link onreadOption}). */
export const readsWith = (socket: net.Socket, callback: ReadCallback): boolean =>
  kBufferCb !== undefined && (socket as unknown as Internals)[kBufferCb] === callback

/**
 * Makes an accepted socket that has not started reading read into the shared buffer and call
 * `callback`, instead of emitting `data`. Returns `false`, changing nothing, when that is not
 * safe: unknown Node internals, no handle, a handle that cannot take a buffer (TLS), a socket
 * already reading or holding unread data.
 */
export const useSharedReadBuffer = (socket: net.Socket, callback: ReadCallback): boolean => {
  if (kBuffer === undefined || kBufferCb === undefined) return false
  const internals = socket as unknown as Internals
  const handle = internals._handle
  if (
    "encrypted" in socket || handle === undefined || handle === null || typeof handle.useUserBuffer !== "function" ||
    handle.reading === true || internals[kBuffer] !== null || socket.readableLength > 0 || socket.readableFlowing === true
  ) {
    return false
  }
  internals[kBuffer] = sharedBuffer
  internals[kBufferCb] = callback
  handle.useUserBuffer(sharedBuffer)
  return true
}

/**
 * Back to Node's own behaviour for a socket handed to another owner (STARTTLS): whatever is
 * still read through the shared buffer is pushed into the socket's readable side, as a socket
 * without `onread` does. (A TLS layer wrapping the handle reads through its own buffers anyway.)
 */
export const stopSharedReads = (socket: net.Socket): void => {
  if (kBufferCb === undefined) return
  const internals = socket as unknown as Internals
  if (internals[kBufferCb] === null || internals[kBufferCb] === undefined) return
  internals[kBufferCb] = pushToReadable
}

const pushToReadable = function(this: net.Socket, bytes: number, buffer: Buffer): boolean {
  return this.push(copyOut(bytes, buffer))
}
