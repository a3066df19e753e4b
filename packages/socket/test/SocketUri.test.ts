import { InvalidUriError } from "@effect-socket/socket/SocketError"
import * as SocketUri from "@effect-socket/socket/SocketUri"
import { assert, describe, it } from "@effect/vitest"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as fc from "fast-check"
import * as net from "node:net"

type Problem = InvalidUriError["problem"]

const run = <A>(effect: Effect.Effect<A, InvalidUriError>): Either.Either<A, InvalidUriError> =>
  Effect.runSync(Effect.either(effect))

/** Asserts an EINVAL InvalidUriError that names `uri` in its message; returns it. */
const assertInvalid = (result: Either.Either<unknown, InvalidUriError>, uri: string, problem?: Problem): InvalidUriError => {
  if (Either.isRight(result)) assert.fail(`expected ${JSON.stringify(uri)} to be rejected, got ${JSON.stringify(result.right)}`)
  const error = result.left
  assert.instanceOf(error, InvalidUriError)
  assert.strictEqual(error._tag, "InvalidUriError")
  assert.strictEqual(error.code, "EINVAL")
  assert.strictEqual(error.uri, uri)
  assert.isTrue(error.message.startsWith(`Given URI "${uri}" `), error.message)
  assert.isTrue(error.message.endsWith(" (EINVAL)"), error.message)
  if (problem !== undefined) assert.strictEqual(error.problem, problem, error.message)
  return error
}

const assertValid = <A>(result: Either.Either<A, InvalidUriError>, uri: string): A => {
  if (Either.isLeft(result)) assert.fail(`expected ${JSON.stringify(uri)} to parse, got: ${result.left.message}`)
  return result.right
}

/**
 * A SocketUri with its Options as `string | null`. Chai's deep equality walks an Option as an
 * iterable and so cannot tell `Some("")` from `None`: compare this form instead.
 */
type Plain = Omit<SocketUri.SocketUri, "userInfo" | "fragment"> & { readonly userInfo: string | null; readonly fragment: string | null }
const plain = (uri: SocketUri.SocketUri): Plain => ({ ...uri, userInfo: Option.getOrNull(uri.userInfo), fragment: Option.getOrNull(uri.fragment) })

/** parse ∘ format is the identity on parsed values, so format ∘ parse ∘ format = format ∘ parse. */
const assertStable = (uri: SocketUri.SocketUri) => {
  const formatted = SocketUri.format(uri)
  const again = assertValid(SocketUri.parseEither(formatted), formatted)
  assert.deepStrictEqual(plain(again), plain(uri))
  assert.strictEqual(SocketUri.format(again), formatted)
}

describe("SocketUri", () => {
  describe("parse: valid URIs", () => {
    const cases: ReadonlyArray<{
      readonly input: string
      readonly expected: Partial<Plain>
      readonly formatted: string
    }> = [
      // TcpConnectorTest / TcpServerTest: scheme-less host:port means tcp://
      { input: "127.0.0.1:80", expected: { scheme: "tcp", host: "127.0.0.1", port: 80, path: "", query: "" }, formatted: "tcp://127.0.0.1:80" },
      { input: "tcp://127.0.0.1:0", expected: { host: "127.0.0.1", port: 0 }, formatted: "tcp://127.0.0.1:0" },
      { input: "[::1]:80", expected: { scheme: "tcp", host: "::1", port: 80 }, formatted: "tcp://[::1]:80" },
      { input: "tcp://[::]:0", expected: { host: "::", port: 0 }, formatted: "tcp://[::]:0" },
      { input: "tcp://[2001:db8::1]:443", expected: { host: "2001:db8::1", port: 443 }, formatted: "tcp://[2001:db8::1]:443" },
      { input: "[::ffff:127.0.0.1]:8080", expected: { host: "::ffff:127.0.0.1", port: 8080 }, formatted: "tcp://[::ffff:127.0.0.1]:8080" },
      { input: "tls://google.com:443", expected: { scheme: "tls", host: "google.com", port: 443 }, formatted: "tls://google.com:443" },
      { input: "localhost:65535", expected: { host: "localhost", port: 65535 }, formatted: "tcp://localhost:65535" },
      // DnsConnectorTest / HappyEyeBallsConnectorTest: every part is passed on untouched
      {
        input: "scheme://127.0.0.1:80/path?query#fragment",
        expected: { scheme: "scheme", host: "127.0.0.1", port: 80, path: "/path", query: "query", fragment: "fragment" },
        formatted: "scheme://127.0.0.1:80/path?query#fragment"
      },
      {
        input: "scheme://google.com:80/?hostname=google.de",
        expected: { host: "google.com", path: "/", query: "hostname=google.de", fragment: null },
        formatted: "scheme://google.com:80/?hostname=google.de"
      },
      { input: "1.2.3.4:80?hostname=example.com", expected: { path: "", query: "hostname=example.com" }, formatted: "tcp://1.2.3.4:80?hostname=example.com" },
      {
        input: "scheme://[::1]:80/path?query&hostname=reactphp.org#fragment",
        expected: { host: "::1", query: "query&hostname=reactphp.org" },
        formatted: "scheme://[::1]:80/path?query&hostname=reactphp.org#fragment"
      },
      // the fragment starts at the first "#", the query at the first "?" before it, the path at the first "/"
      {
        input: "tcp://1.2.3.4:80/a:b@c/d?q=a/b?c#frag?x#y",
        expected: { host: "1.2.3.4", userInfo: null, path: "/a:b@c/d", query: "q=a/b?c", fragment: "frag?x#y" },
        formatted: "tcp://1.2.3.4:80/a:b@c/d?q=a/b?c#frag?x#y"
      },
      { input: "127.0.0.1:80?", expected: { query: "", fragment: null }, formatted: "tcp://127.0.0.1:80" },
      { input: "127.0.0.1:80#", expected: { query: "", fragment: "" }, formatted: "tcp://127.0.0.1:80#" },
      // schemes are case-insensitive (RFC 3986 §3.1) and lower-cased; hosts are kept as written
      { input: "TCP://127.0.0.1:80", expected: { scheme: "tcp" }, formatted: "tcp://127.0.0.1:80" },
      { input: "Tls://Example.COM:443", expected: { scheme: "tls", host: "Example.COM" }, formatted: "tls://Example.COM:443" },
      { input: "a+b.c-d://127.0.0.1:1", expected: { scheme: "a+b.c-d" }, formatted: "a+b.c-d://127.0.0.1:1" },
      // user info is kept
      { input: "tcp://user:secret@127.0.0.1:80", expected: { userInfo: "user:secret", host: "127.0.0.1" }, formatted: "tcp://user:secret@127.0.0.1:80" },
      { input: "tcp://@127.0.0.1:80", expected: { userInfo: "" }, formatted: "tcp://@127.0.0.1:80" },
      { input: "us%40er@[::1]:80", expected: { userInfo: "us%40er", host: "::1" }, formatted: "tcp://us%40er@[::1]:80" },
      // leading zeros in the port are accepted and dropped (PHP's parse_url: up to 5 digits)
      { input: "127.0.0.1:080", expected: { port: 80 }, formatted: "tcp://127.0.0.1:80" },
      { input: "127.0.0.1:00000", expected: { port: 0 }, formatted: "tcp://127.0.0.1:0" },
      { input: "127.0.0.1:01234", expected: { port: 1234 }, formatted: "tcp://127.0.0.1:1234" },
      // zone ids: RFC 6874 %25, or the bare % that Node prints
      { input: "tcp://[fe80::1%25eth0]:80", expected: { host: "fe80::1%eth0" }, formatted: "tcp://[fe80::1%25eth0]:80" },
      { input: "tcp://[fe80::1%eth0]:80", expected: { host: "fe80::1%eth0" }, formatted: "tcp://[fe80::1%25eth0]:80" },
      { input: "[fe80::1%2]:80", expected: { host: "fe80::1%2" }, formatted: "tcp://[fe80::1%252]:80" },
      { input: "[fe80::1%2525]:80", expected: { host: "fe80::1%25" }, formatted: "tcp://[fe80::1%2525]:80" },
      // names: reg-name characters, percent-encoding and non-ASCII letters (IDNs)
      { input: "bücher.example:443", expected: { host: "bücher.example" }, formatted: "tcp://bücher.example:443" },
      { input: "_service.example.com:80", expected: { host: "_service.example.com" }, formatted: "tcp://_service.example.com:80" },
      { input: "ex%41mple.com:80", expected: { host: "ex%41mple.com" }, formatted: "tcp://ex%41mple.com:80" },
      // syntactically a name: requireIp decides (see below)
      { input: "256.256.256.256:80", expected: { host: "256.256.256.256" }, formatted: "tcp://256.256.256.256:80" },
      { input: "tcp:80", expected: { scheme: "tcp", host: "tcp", port: 80 }, formatted: "tcp://tcp:80" }
    ]
    for (const { expected, formatted, input } of cases) {
      it(`${JSON.stringify(input)} -> ${formatted}`, () => {
        const uri = assertValid(SocketUri.parseEither(input), input)
        for (const [key, value] of Object.entries(expected)) {
          assert.deepStrictEqual(plain(uri)[key as keyof Plain], value, key)
        }
        assert.strictEqual(SocketUri.format(uri), formatted)
        assertStable(uri)
      })
    }
  })

  describe("parse: malformed URIs fail with EINVAL naming the input", () => {
    const cases: ReadonlyArray<readonly [input: string, problem: Problem, detail?: string]> = [
      // DnsConnectorTest, FunctionalTcpServerTest, SocketServerTest
      ["////", "Malformed", "missing host"],
      ["///", "Malformed", "missing host"],
      ["127.0.0.1", "Malformed", "missing port"],
      ["invalid URI", "Malformed", "contains whitespace or a control character"],
      // TcpConnectorTest: port out of range
      ["255.255.255.255:12345678", "InvalidPort"],
      ["", "Malformed", "empty"],
      // missing parts
      ["tcp://127.0.0.1", "Malformed", "missing port"],
      ["tcp://127.0.0.1:", "Malformed", "missing port"],
      ["[::1]", "Malformed", "missing port"],
      ["tcp://[::1]:", "Malformed", "missing port"],
      ["tcp://127.0.0.1/:80", "Malformed", "missing port"],
      ["tcp://:80", "Malformed", "missing host"],
      [":80", "Malformed", "missing host"],
      ["tcp://", "Malformed", "missing host"],
      ["tcp://@:80", "Malformed", "missing host"],
      ["://127.0.0.1:80", "Malformed", "missing host"],
      ["unix:///tmp/server.sock", "Malformed", "missing host"],
      ["1tcp://127.0.0.1:80", "Malformed", "missing port"],
      // ports
      ["127.0.0.1:65536", "InvalidPort"],
      ["127.0.0.1:99999", "InvalidPort"],
      ["127.0.0.1:000080", "InvalidPort"],
      ["127.0.0.1:065535", "InvalidPort"],
      ["127.0.0.1:-1", "InvalidPort"],
      ["127.0.0.1:+80", "InvalidPort"],
      ["127.0.0.1:0x50", "InvalidPort"],
      ["127.0.0.1:8o", "InvalidPort"],
      ["127.0.0.1:1e3", "InvalidPort"],
      ["127.0.0.1:٨٠", "InvalidPort"],
      ["127.0.0.1:80:80", "InvalidPort"],
      ["[::1]:80:80", "InvalidPort"],
      // IPv6 literals need brackets; brackets hold IPv6 literals only
      ["::1:80", "Malformed", "an IPv6 address must be in brackets"],
      ["2001:db8::1", "Malformed", "an IPv6 address must be in brackets"],
      ["tcp://2001:db8::1:443", "Malformed", "an IPv6 address must be in brackets"],
      ["fe80::1%eth0:80", "Malformed", "an IPv6 address must be in brackets"],
      ["[127.0.0.1]:80", "Malformed", "brackets must hold an IPv6 address"],
      ["[localhost]:80", "Malformed", "brackets must hold an IPv6 address"],
      ["[v1.fe]:80", "Malformed", "brackets must hold an IPv6 address"],
      ["[]:80", "Malformed", "brackets must hold an IPv6 address"],
      ["[::g]:80", "Malformed", "brackets must hold an IPv6 address"],
      ["[1::2::3]:80", "Malformed", "brackets must hold an IPv6 address"],
      ["[fe80::1%]:80", "Malformed", "brackets must hold an IPv6 address"],
      ["[fe80::1%25]:80", "Malformed", "brackets must hold an IPv6 address"],
      ["[fe80::1%25eth_0]:80", "Malformed", "brackets must hold an IPv6 address"],
      ["[fe80::1%25%65th0]:80", "Malformed", "brackets must hold an IPv6 address"],
      ["[::1:80", "Malformed", "unclosed bracket"],
      ["[::1]80", "Malformed", "unexpected text after the host"],
      ["[::1]]:80", "Malformed", "unexpected text after the host"],
      ["[::1][::2]:80", "Malformed", "unexpected text after the host"],
      ["a[::1]:80", "Malformed", "invalid character in host"],
      // whitespace and control characters, anywhere
      [" 127.0.0.1:80", "Malformed", "contains whitespace or a control character"],
      ["127.0.0.1:80 ", "Malformed", "contains whitespace or a control character"],
      ["127.0.0.1:80\n", "Malformed", "contains whitespace or a control character"],
      ["127.0.0.1:\t80", "Malformed", "contains whitespace or a control character"],
      ["127.0.0.1:80\r\nHost: x", "Malformed", "contains whitespace or a control character"],
      ["127.0.0.1:80\u0000", "Malformed", "contains whitespace or a control character"],
      ["127.0.0.1:80/\u007f", "Malformed", "contains whitespace or a control character"],
      ["127.0.0.1:80?\u0085", "Malformed", "contains whitespace or a control character"],
      ["127.0.0.1:80#\u00a0", "Malformed", "contains whitespace or a control character"],
      ["127.0.0.1:80?x=\u2028", "Malformed", "contains whitespace or a control character"],
      ["127.0.0.1:80?x=\u3000", "Malformed", "contains whitespace or a control character"],
      ["\ufeff127.0.0.1:80", "Malformed", "contains whitespace or a control character"],
      ["127.0.0.1:80/\ud800", "Malformed", "contains whitespace or a control character"],
      ["tcp://exa mple.com:80", "Malformed", "contains whitespace or a control character"],
      // characters a host cannot hold
      ["tcp://a%zz.com:80", "Malformed", "invalid character in host"],
      ["tcp://a%4:80", "Malformed", "invalid character in host"],
      ["tcp://a<b>:80", "Malformed", "invalid character in host"],
      ["tcp://a\\b:80", "Malformed", "invalid character in host"],
      ["tcp://a|b:80", "Malformed", "invalid character in host"],
      ["tcp://a{b}:80", "Malformed", "invalid character in host"],
      ["tcp://a\"b:80", "Malformed", "invalid character in host"],
      ["tcp://a^b`c:80", "Malformed", "invalid character in host"],
      ["tcp://ex\u200bample.com:80", "Malformed", "invalid character in host"],
      ["tcp://a]:80", "Malformed", "invalid character in host"],
      // user info
      ["tcp://u@v@127.0.0.1:80", "Malformed", "invalid user info"],
      ["tcp://[::1]@127.0.0.1:80", "Malformed", "invalid user info"],
      ["tcp://us%zzer@127.0.0.1:80", "Malformed", "invalid user info"]
    ]
    for (const [input, problem, detail] of cases) {
      it(`${JSON.stringify(input)} -> ${problem}${detail === undefined ? "" : `: ${detail}`}`, () => {
        const error = assertInvalid(SocketUri.parseEither(input), input, problem)
        if (detail !== undefined) assert.strictEqual(error.detail, detail)
      })
    }

    it("messages read as ReactPHP's", () => {
      assert.strictEqual(
        assertInvalid(SocketUri.parseEither("////"), "////").message,
        "Given URI \"////\" is invalid: missing host (EINVAL)"
      )
      assert.strictEqual(
        assertInvalid(SocketUri.parseEither("255.255.255.255:12345678"), "255.255.255.255:12345678").message,
        "Given URI \"255.255.255.255:12345678\" contains an invalid port (EINVAL)"
      )
    })

    it("non-string input from untyped callers fails instead of throwing", () => {
      const hostile = {
        toString(): string {
          throw new Error("no")
        }
      }
      for (const [input, uri] of [[undefined, "undefined"], [null, "null"], [8080, "8080"], [hostile, "object"]] as const) {
        assertInvalid(SocketUri.parseEither(input as unknown as string), uri, "Malformed")
        assertInvalid(run(SocketUri.parseClient(input as unknown as string)), uri, "Malformed")
      }
      assertInvalid(run(SocketUri.parseServer(hostile as unknown as string)), "object", "Malformed")
      assertInvalid(run(SocketUri.parseServer(null as unknown as string)), "null", "Malformed")
    })

    it.effect("parse is an Effect that fails with the InvalidUriError", () =>
      Effect.gen(function*() {
        const uri = yield* SocketUri.parse("[::1]:8080")
        assert.strictEqual(uri.host, "::1")
        const error = yield* Effect.flip(SocketUri.parse("[::1]"))
        assert.strictEqual(error.message, "Given URI \"[::1]\" is invalid: missing port (EINVAL)")
      }))
  })

  describe("parseClient: ports 1-65535, names allowed", () => {
    for (const [input, host, port] of [
      ["google.com:80", "google.com", 80],
      ["127.0.0.1:1", "127.0.0.1", 1],
      ["tcp://[::1]:65535", "::1", 65535],
      ["tls://google.com:443", "google.com", 443]
    ] as const) {
      it(`accepts ${input}`, () => {
        const uri = assertValid(run(SocketUri.parseClient(input)), input)
        assert.strictEqual(uri.host, host)
        assert.strictEqual(uri.port, port)
      })
    }
    for (const [input, problem] of [
      ["127.0.0.1:0", "InvalidPort"],
      ["tcp://[::1]:00", "InvalidPort"],
      ["255.255.255.255:12345678", "InvalidPort"],
      ["google.com", "Malformed"],
      ["tcp://:80", "Malformed"]
    ] as const) {
      it(`rejects ${input} (${problem})`, () => {
        assertInvalid(run(SocketUri.parseClient(input)), input, problem)
      })
    }
    it("parseClientEither gives what parseClient gives, for any input", () => {
      fc.assert(fc.property(fc.oneof(fc.string(), fc.constantFrom("127.0.0.1:0", "[::1]:80", "tls://a.b:443")), (input) => {
        assert.deepStrictEqual(SocketUri.parseClientEither(input), run(SocketUri.parseClient(input)))
      }))
    })
    it("port 0 says why", () => {
      assert.strictEqual(
        assertInvalid(run(SocketUri.parseClient("127.0.0.1:0")), "127.0.0.1:0").message,
        "Given URI \"127.0.0.1:0\" contains an invalid port: port 0 cannot be connected to (EINVAL)"
      )
    })
  })

  describe("requireIp: a name where an IP is required (TcpConnector)", () => {
    for (const input of ["127.0.0.1:80", "[::1]:80", "[::ffff:10.0.0.1]:80", "[fe80::1%25eth0]:80", "tls://0.0.0.0:443"]) {
      it(`accepts ${input}`, () => {
        const uri = assertValid(SocketUri.parseEither(input), input)
        assert.strictEqual(assertValid(SocketUri.requireIp(uri), input), uri)
      })
    }
    for (const input of ["www.google.com:80", "localhost:80", "256.256.256.256:80", "1.2.3:80", "01.2.3.4:80", "0x7f.0.0.1:80", "2130706433:80"]) {
      it(`rejects ${input}`, () => {
        const uri = assertValid(SocketUri.parseEither(input), input)
        assertInvalid(SocketUri.requireIp(uri, input), input, "HostNotIp")
      })
    }
    it("names the formatted URI unless told otherwise, as TcpConnector's message", () => {
      const uri = assertValid(SocketUri.parseEither("www.google.com:80"), "www.google.com:80")
      assert.strictEqual(
        assertInvalid(SocketUri.requireIp(uri), "tcp://www.google.com:80").message,
        "Given URI \"tcp://www.google.com:80\" does not contain a valid host IP (EINVAL)"
      )
    })
  })

  describe("parseServer: bare port, port 0, IP literals only (TcpServer)", () => {
    const valid: ReadonlyArray<readonly [string | number, string]> = [
      [8080, "tcp://127.0.0.1:8080"],
      [0, "tcp://127.0.0.1:0"],
      ["8080", "tcp://127.0.0.1:8080"],
      ["0", "tcp://127.0.0.1:0"],
      ["65535", "tcp://127.0.0.1:65535"],
      ["127.0.0.1:0", "tcp://127.0.0.1:0"],
      ["tcp://127.0.0.1:0", "tcp://127.0.0.1:0"],
      ["[::1]:0", "tcp://[::1]:0"],
      ["tcp://[::]:8080", "tcp://[::]:8080"],
      ["0.0.0.0:0", "tcp://0.0.0.0:0"],
      ["[fe80::1%eth0]:0", "tcp://[fe80::1%25eth0]:0"],
      // the scheme is kept for the server to judge (TcpServer refuses udp://)
      ["udp://127.0.0.1:0", "udp://127.0.0.1:0"]
    ]
    for (const [input, formatted] of valid) {
      it(`${JSON.stringify(input)} -> ${formatted}`, () => {
        assert.strictEqual(SocketUri.format(assertValid(run(SocketUri.parseServer(input)), String(input))), formatted)
      })
    }
    const invalid: ReadonlyArray<readonly [string | number, string, Problem]> = [
      // FunctionalTcpServerTest / SocketServerTest
      ["localhost:8080", "localhost:8080", "HostNotIp"],
      ["tcp://localhost:8080", "tcp://localhost:8080", "HostNotIp"],
      ["example.com:0", "example.com:0", "HostNotIp"],
      ["127.0.0.1", "127.0.0.1", "Malformed"],
      ["///", "///", "Malformed"],
      ["invalid URI", "invalid URI", "Malformed"],
      ["tcp://8080", "tcp://8080", "Malformed"],
      ["tcp://0", "tcp://0", "Malformed"],
      // errors name the input as given, not the normalized 127.0.0.1:port
      ["65536", "65536", "InvalidPort"],
      ["123456", "123456", "InvalidPort"],
      [65536, "65536", "InvalidPort"],
      [8080.5, "8080.5", "Malformed"],
      [-1, "-1", "Malformed"],
      [Number.NaN, "NaN", "Malformed"],
      [Number.POSITIVE_INFINITY, "Infinity", "Malformed"],
      ["tcp://:0", "tcp://:0", "Malformed"],
      [":8080", ":8080", "Malformed"],
      ["[::1]", "[::1]", "Malformed"],
      [" 8080", " 8080", "Malformed"]
    ]
    for (const [input, uri, problem] of invalid) {
      it(`rejects ${JSON.stringify(input)} (${problem})`, () => {
        assertInvalid(run(SocketUri.parseServer(input)), uri, problem)
      })
    }
    it("a hostname reads as TcpServer's message", () => {
      assert.strictEqual(
        assertInvalid(run(SocketUri.parseServer("localhost:8080")), "localhost:8080").message,
        "Given URI \"localhost:8080\" does not contain a valid host IP (EINVAL)"
      )
    })
  })

  describe("formatting", () => {
    it("formatHostPort brackets IPv6 and writes a zone id as %25", () => {
      assert.strictEqual(SocketUri.formatHostPort("127.0.0.1", 80), "127.0.0.1:80")
      assert.strictEqual(SocketUri.formatHostPort("::1", 8080), "[::1]:8080")
      assert.strictEqual(SocketUri.formatHostPort("fe80::1%eth0", 0), "[fe80::1%25eth0]:0")
      assert.strictEqual(SocketUri.formatHostPort("example.com", 443), "example.com:443")
      // what Node reports as a link-local peer's address parses back to the same host
      const uri = assertValid(SocketUri.parseEither(`tcp://${SocketUri.formatHostPort("fe80::1%eth0", 80)}`), "zone")
      assert.strictEqual(uri.host, "fe80::1%eth0")
    })

    it("replacing the host and appending hostname= gives ReactPHP's DnsConnector URIs", () => {
      const resolved = (input: string, ip: string) => {
        const uri = assertValid(SocketUri.parseEither(input), input)
        return SocketUri.format(SocketUri.appendParam({ ...uri, host: ip }, "hostname", uri.host))
      }
      assert.strictEqual(resolved("google.com:80", "1.2.3.4"), "tcp://1.2.3.4:80?hostname=google.com")
      assert.strictEqual(resolved("google.com:80", "::1"), "tcp://[::1]:80?hostname=google.com")
      assert.strictEqual(
        resolved("scheme://google.com:80/path?query#fragment", "1.2.3.4"),
        "scheme://1.2.3.4:80/path?query&hostname=google.com#fragment"
      )
    })
  })

  describe("query parameters", () => {
    const query = (q: string) => ({ ...assertValid(SocketUri.parseEither("1.2.3.4:80"), "base"), query: q })
    const cases: ReadonlyArray<readonly [query: string, name: string, expected: string | null]> = [
      ["hostname=example.com", "hostname", "example.com"],
      ["a=1&hostname=x&b=2", "hostname", "x"],
      ["hostname=first&hostname=last", "hostname", "last"],
      ["hostname", "hostname", ""],
      ["hostname=", "hostname", ""],
      ["hostname=a=b", "hostname", "a=b"],
      ["&&hostname=x&&", "hostname", "x"],
      ["host%6Eame=x", "hostname", "x"],
      ["hostname=a+b%20c", "hostname", "a b c"],
      ["hostname=%E4%B8%AD", "hostname", "中"],
      ["hostname=50%", "hostname", "50%"],
      ["hostname=%ff%20x&a=%20", "hostname", "%ff%20x"],
      ["hostnames=x", "hostname", null],
      ["", "hostname", null],
      ["", "", null]
    ]
    for (const [q, name, expected] of cases) {
      it(`param(${JSON.stringify(q)}, ${JSON.stringify(name)})`, () => {
        assert.strictEqual(Option.getOrNull(SocketUri.param(query(q), name)), expected)
      })
    }

    it("appendParam keeps the query and encodes name and value", () => {
      assert.strictEqual(SocketUri.appendParam(query(""), "hostname", "a b&c=d").query, "hostname=a%20b%26c%3Dd")
      assert.strictEqual(SocketUri.appendParam(query("x=1"), "h", "v").query, "x=1&h=v")
      assert.strictEqual(SocketUri.appendParam(query("x=1"), "a&b", "+").query, "x=1&a%26b=%2B")
    })

    it("appendParam replaces lone surrogates instead of throwing", () => {
      const uri = SocketUri.appendParam(query(""), "h\udc00", "a\ud800b")
      assert.strictEqual(Option.getOrNull(SocketUri.param(uri, "h\ufffd")), "a\ufffdb")
      assertStable(uri)
    })
  })

  describe("isIP and ipFamily", () => {
    for (const [host, family] of [
      ["127.0.0.1", 4],
      ["255.255.255.255", 4],
      ["::1", 6],
      ["::", 6],
      ["1:2:3:4:5:6:7::", 6],
      ["::ffff:1.2.3.4", 6],
      ["1:2:3:4:5:6:1.2.3.4", 6],
      ["fe80::1%eth0", 6],
      ["fe80::1%25eth0", 6],
      ["localhost", 0],
      ["[::1]", 0],
      ["1.2.3.4%eth0", 0],
      ["01.2.3.4", 0],
      ["1::2:3:4:5:6:7:8", 0],
      ["1.2.3.4::", 0],
      ["fe80::1%", 0],
      ["fe80::1%a_b", 0],
      ["", 0]
    ] as const) {
      it(`${JSON.stringify(host)} -> ${family} (as node:net)`, () => {
        assert.strictEqual(SocketUri.ipFamily(host), family)
        assert.strictEqual(SocketUri.isIP(host), family !== 0)
        assert.strictEqual(net.isIP(host), family)
      })
    }
  })

  describe("properties", () => {
    const hexGroup = fc.stringMatching(/^[0-9a-fA-F]{1,4}$/)
    // Zones starting "25" are the ones a bare "%" would make ambiguous with RFC 6874's "%25".
    const zone = fc.oneof(fc.stringMatching(/^[0-9A-Za-z.:-]{1,8}$/), fc.stringMatching(/^25[0-9A-Za-z.:-]{0,4}$/))
    // A host as parse returns it, and as it may be written in a URI.
    const host: fc.Arbitrary<{ readonly host: string; readonly text: string }> = fc.oneof(
      fc.ipV4().map((ip) => ({ host: ip, text: ip })),
      fc.ipV6().map((ip) => ({ host: ip, text: `[${ip}]` })),
      fc.tuple(fc.ipV6(), zone, fc.boolean()).map(([ip, z, bare]) => ({
        host: `${ip}%${z}`,
        text: bare && !z.startsWith("25") ? `[${ip}%${z}]` : `[${ip}%25${z}]`
      })),
      fc.domain().map((name) => ({ host: name, text: name })),
      fc.stringMatching(/^(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2}){1,12}$/).map((name) => ({ host: name, text: name })),
      fc.string({ unit: fc.constantFrom("ü", "é", "ж", "中", "ß", "a", "1", "-", "."), minLength: 1, maxLength: 12 })
        .map((name) => ({ host: name, text: name }))
    )
    const port = fc.tuple(fc.integer({ min: 0, max: 65535 }), fc.nat(4)).map(([value, zeros]) => ({
      port: value,
      text: `${"0".repeat(Math.min(zeros, 5 - String(value).length))}${value}`
    }))
    const printable = (s: string) => !/[\p{Cc}\p{White_Space}\p{Cs}\uFEFF]/u.test(s)
    const freeText = fc.string({ unit: "grapheme", maxLength: 12 }).filter(printable)
    const parts = fc.record({
      scheme: fc.option(fc.oneof(fc.constantFrom("tcp", "tls", "TCP", "Tls"), fc.stringMatching(/^[A-Za-z][A-Za-z0-9+.-]{0,8}$/))),
      userInfo: fc.option(fc.stringMatching(/^(?:[A-Za-z0-9\-._~!$&'()*+,;=:]|%[0-9A-Fa-f]{2}){0,12}$/)),
      host,
      port,
      path: fc.array(fc.oneof(fc.webSegment(), freeText.map((s) => s.replace(/[/?#]/g, ""))), { maxLength: 4 })
        .map((segments) => segments.map((s) => `/${s}`).join("")),
      query: fc.option(fc.oneof(fc.webQueryParameters(), freeText.map((s) => s.replace(/#/g, "")))),
      fragment: fc.option(fc.oneof(fc.webFragments(), freeText))
    })
    const uriText = (p: typeof parts extends fc.Arbitrary<infer T> ? T : never) =>
      `${p.scheme === null ? "" : `${p.scheme}://`}${p.userInfo === null ? "" : `${p.userInfo}@`}${p.host.text}:${p.port.text}${p.path}${
        p.query === null ? "" : `?${p.query}`
      }${p.fragment === null ? "" : `#${p.fragment}`}`
    const validUri = parts.map(uriText)

    it("generated valid URIs parse to their parts, and format(parse(s)) is stable", () => {
      fc.assert(
        fc.property(parts, (p) => {
          const text = uriText(p)
          const uri = assertValid(SocketUri.parseEither(text), text)
          assert.deepStrictEqual(plain(uri), {
            scheme: (p.scheme ?? "tcp").toLowerCase(),
            userInfo: p.userInfo,
            host: p.host.host,
            port: p.port.port,
            path: p.path,
            query: p.query ?? "",
            fragment: p.fragment
          })
          assertStable(uri)
        }),
        { numRuns: 2000 }
      )
    })

    it("a port parses if and only if it is 1-5 digits up to 65535", () => {
      fc.assert(
        fc.property(fc.stringMatching(/^[0-9]{1,7}$/), (port) => {
          const result = SocketUri.parseEither(`[::1]:${port}`)
          if (port.length <= 5 && Number(port) <= 65535) assert.strictEqual(assertValid(result, port).port, Number(port))
          else assertInvalid(result, `[::1]:${port}`, "InvalidPort")
        }),
        { numRuns: 2000 }
      )
    })

    /** Whatever the input: no throw; a Left is an EINVAL error naming it; a Right formats stably. */
    const total = (input: string) => {
      const parsed = SocketUri.parseEither(input)
      if (Either.isRight(parsed)) assertStable(parsed.right)
      else assertInvalid(parsed, input)
      for (const result of [run(SocketUri.parseClient(input)), run(SocketUri.parseServer(input))]) {
        if (Either.isLeft(result)) assertInvalid(result, input)
      }
    }
    const structural = fc.string({ unit: fc.constantFrom(..."::[]@/?#%.0123456789afAF tcp\t"), maxLength: 30 })
    const loneSurrogates = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 30 })
    const edit = fc.tuple(fc.nat(), fc.constantFrom("insert", "delete", "replace"), fc.oneof(
      fc.constantFrom(..."::[]@/?#%.0 \u0000\ud800"),
      fc.string({ unit: "binary", minLength: 1, maxLength: 1 })
    ))
    const mutated = fc.tuple(validUri, fc.array(edit, { minLength: 1, maxLength: 4 })).map(([text, edits]) =>
      edits.reduce((s, [at, kind, char]) => {
        const i = s.length === 0 ? 0 : at % (s.length + 1)
        return kind === "insert" ? s.slice(0, i) + char + s.slice(i) : s.slice(0, i) + (kind === "replace" ? char : "") + s.slice(i + 1)
      }, text)
    )
    for (
      const [name, arbitrary] of [
        ["fc.string (ASCII)", fc.string()],
        ["fc.string (binary: full Unicode)", fc.string({ unit: "binary" })],
        ["fc.string (graphemes)", fc.string({ unit: "grapheme" })],
        ["lone surrogates and controls", loneSurrogates],
        ["URI punctuation soup", structural],
        ["mutated valid URIs", mutated]
      ] as const
    ) {
      it(`parse never throws: ${name}`, () => {
        fc.assert(fc.property(arbitrary, total), { numRuns: 2000 })
      })
    }

    const v6Soup = fc.tuple(
      fc.array(fc.oneof({ weight: 6, arbitrary: hexGroup }, { weight: 2, arbitrary: fc.constant("") }, { weight: 1, arbitrary: fc.ipV4() }), {
        maxLength: 10
      }),
      fc.option(fc.string({ unit: fc.constantFrom(..."%25eth0:._~-z "), maxLength: 6 }))
    ).map(([groups, suffix]) => `${groups.join(":")}${suffix === null ? "" : `%${suffix}`}`)
    for (
      const [name, arbitrary] of [
        ["fc.ipV4", fc.ipV4()],
        ["fc.ipV4Extended (octal, hex, short forms)", fc.ipV4Extended()],
        ["fc.ipV6", fc.ipV6()],
        ["fc.ipV6 with zone ids", fc.tuple(fc.ipV6(), fc.string({ unit: fc.constantFrom(..."09azAZ.:-_~% %"), maxLength: 6 })).map(([ip, z]) => `${ip}%${z}`)],
        ["IPv6-like group soup", v6Soup],
        ["digit and dot soup", fc.string({ unit: fc.constantFrom(..."0123456789.:"), maxLength: 20 })],
        ["fc.string", fc.string()]
      ] as const
    ) {
      it(`isIP agrees with net.isIP: ${name}`, () => {
        fc.assert(
          fc.property(arbitrary, (s) => {
            assert.strictEqual(SocketUri.ipFamily(s), net.isIP(s), s)
            assert.strictEqual(SocketUri.isIP(s), net.isIP(s) !== 0, s)
          }),
          { numRuns: 3000 }
        )
      })
    }

    it("param(appendParam(uri, name, value), name) is value, also after format and parse", () => {
      const name = fc.oneof(fc.string({ unit: "binary", minLength: 1 }), fc.constantFrom("hostname", "a b", "a+b", "=&"))
      const earlier = fc.option(fc.string({ unit: "binary" }))
      fc.assert(
        fc.property(validUri, name, fc.string({ unit: "binary" }), earlier, (text, name, value, before) => {
          const parsed = assertValid(SocketUri.parseEither(text), text)
          // the name may be there already: the last one wins
          const uri = before === null ? parsed : SocketUri.appendParam(parsed, name, before)
          const appended = SocketUri.appendParam(uri, name, value)
          assert.strictEqual(Option.getOrNull(SocketUri.param(appended, name)), value)
          const reparsed = assertValid(SocketUri.parseEither(SocketUri.format(appended)), SocketUri.format(appended))
          assert.strictEqual(Option.getOrNull(SocketUri.param(reparsed, name)), value)
          assert.deepStrictEqual(plain({ ...reparsed, query: uri.query }), plain(uri))
          // the query only grows at its end, and other plain-named parameters keep their values
          assert.isTrue(appended.query.startsWith(uri.query))
          for (const key of uri.query.split("&").map((pair) => pair.split("=")[0]!)) {
            if (/^[A-Za-z0-9_.-]+$/.test(key) && key !== name) {
              assert.strictEqual(Option.getOrNull(SocketUri.param(appended, key)), Option.getOrNull(SocketUri.param(uri, key)))
            }
          }
        }),
        { numRuns: 1000 }
      )
    })
  })
})

