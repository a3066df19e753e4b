/** IP literal checks without `node:net`, so that the `socket` package stays platform-neutral. */

const V4 = /^(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}$/
const HEXTET = /^[0-9a-fA-F]{1,4}$/

export const isIPv4 = (host: string): boolean => V4.test(host)

export const isIPv6 = (host: string): boolean => {
  // A zone id (fe80::1%eth0) is allowed after the address.
  const percent = host.indexOf("%")
  const address = percent >= 0 ? host.slice(0, percent) : host
  if (percent >= 0 && !/^[0-9A-Za-z._~-]+$/.test(host.slice(percent + 1))) return false
  if (address.length < 2 || address.split("::").length > 2) return false
  let groups = address.split(":")
  let needed = 8
  const last = groups[groups.length - 1]!
  if (last.includes(".")) {
    if (!isIPv4(last)) return false
    groups = groups.slice(0, -1)
    needed = 6
  }
  const compressed = address.includes("::")
  const filled = groups.filter((g) => g.length > 0)
  if (!filled.every((g) => HEXTET.test(g))) return false
  if (compressed) {
    // Empty groups are only allowed as part of the single "::".
    const empties = groups.filter((g) => g.length === 0).length
    const edge = (address.startsWith("::") ? 1 : 0) + (address.endsWith("::") ? 1 : 0)
    return filled.length < needed && empties <= 1 + edge
  }
  return groups.length === needed && filled.length === needed
}

export const isIP = (host: string): boolean => isIPv4(host) || isIPv6(host)

export const family = (host: string): 0 | 4 | 6 => (isIPv4(host) ? 4 : isIPv6(host) ? 6 : 0)
