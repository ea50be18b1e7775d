// Errors that say what failed. Deno's own messages name the system error
// ("Connection refused (os error 111)") but not the address or host it was
// about. withWhat() makes an error of the same class (callers catch
// `Deno.errors.ConnectionRefused`) whose message starts with what was
// attempted, keeps `code` (ECONNREFUSED, ...), and has the original as
// `cause`.

import { CancelledError } from "../kernel/errors.ts";

/** `error` with `what` in front of its message; anything else as it is. */
export function withWhat(error: unknown, what: string): unknown {
  if (!(error instanceof Error) || error instanceof CancelledError) return error;
  if (error.message.startsWith(what)) return error;
  const Class = error.constructor as new (message: string, options: ErrorOptions) => Error;
  let out: Error;
  try {
    out = new Class(`${what}: ${error.message}`, { cause: error });
  } catch {
    return error; // a class that takes other arguments: keep the original
  }
  if (out.constructor !== error.constructor) return error;
  for (const key of ["name", "code"] as const) {
    if (Object.hasOwn(error, key)) {
      Object.defineProperty(out, key, {
        value: (error as unknown as Record<string, unknown>)[key],
        writable: true,
        configurable: true,
        enumerable: false,
      });
    }
  }
  return out;
}

/** An address for messages: `host:port` (`[v6]:port`), or a Unix path. */
export function showAddress(address: unknown): string {
  if (typeof address === "string") return address;
  if (Array.isArray(address) && address.length === 2) {
    const [host, port] = address;
    return String(host).includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  }
  return JSON.stringify(address);
}

/** Closes `raw`; one that is already closed (BadResource) is no error. */
export function closeQuietly(raw: { close(): void }): void {
  try {
    raw.close();
  } catch (error) {
    if (!(error instanceof Deno.errors.BadResource)) throw error;
  }
}
