/** Parsing of a hosts file (`/etc/hosts`, hosts(5)): `IP name [aliases…]`, `#` comments. */
import * as net from "node:net"

export type HostsTable = ReadonlyMap<string, { readonly 4: ReadonlyArray<string>; readonly 6: ReadonlyArray<string> }>

/** Name (lower case, without a trailing dot) → its addresses by family, in file order. */
export const parse = (text: string): HostsTable => {
  const table = new Map<string, { 4: Array<string>; 6: Array<string> }>()
  for (const line of text.split(/\r?\n/)) {
    const [address, ...names] = line.replace(/#.*/, "").trim().split(/\s+/)
    const family = address === undefined ? 0 : net.isIP(address)
    if (family !== 4 && family !== 6) continue
    for (const name of names) {
      const key = normalize(name)
      const entry = table.get(key) ?? { 4: [], 6: [] }
      if (!entry[family].includes(address!)) entry[family].push(address!)
      table.set(key, entry)
    }
  }
  return table
}

/** Host names compare case-insensitively and with or without the root's trailing dot. */
export const normalize = (name: string): string => name.toLowerCase().replace(/\.$/, "")
