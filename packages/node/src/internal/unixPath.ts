import { InvalidUriError } from "@effect-socket/socket/SocketError"
import * as Either from "effect/Either"

/** A Unix-domain socket address taken from a `unix://` URI or a bare path. */
export interface UnixPath {
  /** `unix://` + the path as given: `unix:///run/app.sock`, `unix://app.sock`, `unix://@name`. */
  readonly uri: string
  /** The path as given; `@name` for a Linux abstract socket. */
  readonly path: string
  /** Whether this is a Linux abstract socket (no file). */
  readonly abstract: boolean
  /**
   * What Node's `listen`/`connect` take: the path (`./8` for `8`, which Node would take for a
   * port), or NUL + name for an abstract socket.
   */
  readonly nodePath: string
}

/**
 * The longest socket path, in bytes: `sun_path` is 108 bytes on Linux and 104 on the BSDs and
 * macOS, one of them for the terminating NUL. An abstract name may use all 107 bytes after its
 * leading NUL. Node truncates a longer path or name silently and binds the truncated one.
 */
export const MAX_PATH_BYTES = process.platform === "linux" ? 107 : 103

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//

/**
 * Parses `unix:///abs/path.sock`, `unix://relative.sock`, a bare path, or `unix://@name` (a
 * Linux abstract socket), as ReactPHP's `UnixServer` and `UnixConnector` do. Fails with
 * `EINVAL` for another scheme, an empty path, a NUL byte, or a path longer than the platform
 * allows ({@link MAX_PATH_BYTES}).
 */
export const parseUnixPath = (input: string): Either.Either<UnixPath, InvalidUriError> => {
  const scheme = SCHEME.exec(input)
  if (scheme !== null && scheme[1]!.toLowerCase() !== "unix") {
    return Either.left(new InvalidUriError({ uri: input, problem: "UnsupportedScheme", detail: "expected unix://" }))
  }
  const path = scheme === null ? input : input.slice(scheme[0].length)
  const malformed = (detail: string) => Either.left(new InvalidUriError({ uri: input, problem: "Malformed", detail }))
  if (path.length === 0) return malformed("missing socket path")
  if (path.includes("\0")) return malformed("NUL byte in socket path")
  const abstract = path.startsWith("@")
  if (abstract && process.platform !== "linux") return malformed("abstract sockets (@name) exist on Linux only")
  if (abstract && path.length === 1) return malformed("missing abstract socket name")
  // Node's listen() reads a path that Number() takes for a non-negative number ("8", " ",
  // "0x1f", "Infinity") as a port and throws: name the same file so that it cannot.
  const nodePath = abstract ? `\0${path.slice(1)}` : Number(path) >= 0 ? `./${path}` : path
  // The "@" of an abstract name stands for its leading NUL, which does not count.
  const bytes = Buffer.byteLength(nodePath) - (abstract ? 1 : 0)
  if (bytes > MAX_PATH_BYTES) {
    return Either.left(
      new InvalidUriError({ uri: input, problem: "PathTooLong", detail: `${bytes} bytes, at most ${MAX_PATH_BYTES}` })
    )
  }
  return Either.right({ uri: `unix://${path}`, path, abstract, nodePath })
}
