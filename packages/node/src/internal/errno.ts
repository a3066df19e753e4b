import * as util from "node:util"

const systemErrors = util.getSystemErrorMap()

/**
 * The errno name and a readable sentence for a Node system error, as `strerror` words them:
 * `{ code: "ECONNREFUSED", detail: "Connection refused" }`. Falls back to the error's message.
 */
export const describe = (error: unknown, fallbackCode = "EIO"): { readonly code: string; readonly detail: string } => {
  const e = error as NodeJS.ErrnoException | undefined
  const code = typeof e?.code === "string" ? e.code : fallbackCode
  const entry = typeof e?.errno === "number" ? systemErrors.get(e.errno) : undefined
  const text = entry?.[1] ?? (e instanceof Error ? e.message : String(error))
  return { code, detail: sentence(text, code) }
}

/** The errno name with its `strerror` sentence: `EBADF` → `{ code: "EBADF", detail: "Bad file descriptor" }`. */
export const describeCode = (code: string): { readonly code: string; readonly detail: string } => {
  for (const [name, text] of systemErrors.values()) {
    if (name === code) return { code, detail: sentence(text, code) }
  }
  return { code, detail: code }
}

const sentence = (text: string, code: string) => (text.length > 0 ? text[0]!.toUpperCase() + text.slice(1) : code)
