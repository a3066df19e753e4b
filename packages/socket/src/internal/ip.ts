/**
 * IP literal checks without `node:net`, so that the `socket` package stays platform-neutral.
 * They accept exactly what Node's `net.isIPv4` / `net.isIPv6` accept (the tests compare them on
 * generated and random input): dotted quads without leading zeros, and RFC 4291 §2.2 IPv6 text
 * (one to four hex digits per group, at most one `::`, an optional dotted-quad tail) followed by
 * an optional zone id (`fe80::1%eth0`, zone characters `0-9A-Za-z.:-` as in Node).
 */

const OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
const V4 = new RegExp(`^${OCTET}(?:\\.${OCTET}){3}$`)
const HEXTET = /^[0-9a-fA-F]{1,4}$/
const ZONE = /^[0-9A-Za-z.:-]+$/

export const isIPv4 = (host: string): boolean => V4.test(host)

/**
 * The number of 16-bit groups `part` (colon-separated, no `::`) spells, or -1 when it is not
 * valid. A dotted quad counts as two groups and may only end the whole address.
 */
const groupCount = (part: string, mayEndWithIPv4: boolean): number => {
  if (part.length === 0) return 0
  const groups = part.split(":")
  let count = 0
  for (let i = 0; i < groups.length; i++) {
    const group = groups[i]!
    if (HEXTET.test(group)) count += 1
    else if (mayEndWithIPv4 && i === groups.length - 1 && isIPv4(group)) count += 2
    else return -1
  }
  return count
}

export const isIPv6 = (host: string): boolean => {
  const percent = host.indexOf("%")
  if (percent >= 0 && !ZONE.test(host.slice(percent + 1))) return false
  const halves = (percent >= 0 ? host.slice(0, percent) : host).split("::")
  if (halves.length === 1) return groupCount(halves[0]!, true) === 8
  if (halves.length > 2) return false
  const head = groupCount(halves[0]!, false)
  const tail = groupCount(halves[1]!, true)
  // "::" stands for at least one zero group.
  return head >= 0 && tail >= 0 && head + tail <= 7
}

export const isIP = (host: string): boolean => isIPv4(host) || isIPv6(host)

export const family = (host: string): 0 | 4 | 6 => (isIPv4(host) ? 4 : isIPv6(host) ? 6 : 0)
