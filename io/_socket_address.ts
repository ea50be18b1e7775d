// Addresses as curio's Socket speaks them (`[host, port]` or a Unix path),
// converted from and to Deno's `Deno.Addr`, checked when a caller passes one
// in, and the errno a failed connection stands for (Socket.connectEx).

import { AF_INET, AF_INET6, AF_UNIX } from "./_constants.ts";

/** A network address: `[host, port]` for TCP/UDP, a path for Unix sockets. */
export type Address = [string, number] | string;

/** Linux errno values for the Deno errors `connectEx` reports. */
const ERRNO: Array<[new (...args: never[]) => Error, number]> = [
  [Deno.errors.ConnectionRefused, 111],
  [Deno.errors.ConnectionReset, 104],
  [Deno.errors.ConnectionAborted, 103],
  [Deno.errors.AddrInUse, 98],
  [Deno.errors.AddrNotAvailable, 99],
  [Deno.errors.TimedOut, 110],
  [Deno.errors.NotFound, 2],
  [Deno.errors.PermissionDenied, 13],
  [Deno.errors.NotConnected, 107],
];
const ERRNO_CODES: Record<string, number> = {
  ECONNREFUSED: 111,
  ENETUNREACH: 101,
  EHOSTUNREACH: 113,
  ETIMEDOUT: 110,
  ENOENT: 2,
  EACCES: 13,
};

/** The errno `error` stands for, or undefined if it has none. */
export function errnoOf(error: unknown): number | undefined {
  for (const [cls, errno] of ERRNO) if (error instanceof cls) return errno;
  const code = (error as { code?: unknown })?.code;
  return typeof code === "string" ? ERRNO_CODES[code] : undefined;
}

/** Deno's address as curio's: `[host, port]` or a Unix path. */
export function addrOf(addr: Deno.Addr): Address {
  if ("path" in addr) return addr.path ?? "";
  if ("hostname" in addr) return [addr.hostname, addr.port];
  return String(addr.transport);
}

/** The address family of a Deno address. */
export function familyOf(addr: Deno.Addr): number {
  if ("path" in addr) return AF_UNIX;
  return "hostname" in addr && addr.hostname.includes(":") ? AF_INET6 : AF_INET;
}

/** `address` checked as `[host, port]`, for the message of `action`. */
export function checkInet(address: unknown, action: string): [string, number] {
  if (
    !Array.isArray(address) || address.length !== 2 || typeof address[0] !== "string" ||
    typeof address[1] !== "number"
  ) {
    throw new TypeError(
      `Cannot ${action}: expected an address [host, port], received ${JSON.stringify(address)}`,
    );
  }
  const port = address[1];
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Cannot ${action}: port must be an integer 0-65535, received ${port}`);
  }
  return [address[0], port];
}

/** `address` checked as a Unix socket path, for the message of `action`. */
export function checkPath(address: unknown, action: string): string {
  if (typeof address !== "string" || address === "") {
    throw new TypeError(
      `Cannot ${action}: expected a Unix socket path, received ${JSON.stringify(address)}`,
    );
  }
  return address;
}

/** The any-address of `family`, where an unbound socket binds. */
export function wildcard(family: number): string {
  return family === AF_INET6 ? "::" : "0.0.0.0";
}
