/**
 * The socket module: Python's `socket` module, curio-wrapped, on Deno.
 *
 * `socket()` makes an unconnected {@linkcode Socket} whose `bind`, `listen`
 * and `connect` create the Deno object (`Deno.listen`, `Deno.connect`,
 * `Deno.listenDatagram`). The name lookups are async and run on
 * `/etc/hosts`, this machine's interfaces (`Deno.networkInterfaces`, for its
 * own name) and `Deno.resolveDns`.
 *
 * What Deno cannot do, and what happens instead:
 * - `socketpair()`: Deno has no socketpair(2). The pair is a TCP connection
 *   over 127.0.0.1 (a listener on an ephemeral port, closed once the pair is
 *   connected), so it needs `--allow-net=127.0.0.1`. The sockets are
 *   returned at once and finish connecting in the background: reads and
 *   writes wait for that; `getsockname()`/`getpeername()` work after the
 *   first operation.
 * - `fromfd()`, ancillary data (`recvmsg` with `ancbufsize > 0`, `sendmsg`
 *   with `ancdata`): throw an Error saying Deno cannot do it.
 * - Binding a stream socket also listens (Deno has no bind-only state), and
 *   a bound stream socket cannot `connect`.
 * - UDP needs `--unstable-net` (set in this package's deno.json).
 * - Socket options: Deno has no setsockopt(2). `Socket.setsockopt` applies
 *   `SO_REUSEPORT`, `SO_KEEPALIVE` and `TCP_NODELAY` through Deno's own
 *   options, records `SO_REUSEADDR` (Deno's TCP listeners always set it),
 *   and throws an Error naming any other option (`SO_RCVBUF`, `SO_LINGER`,
 *   ...).
 *
 * Permissions: `--allow-net` for sockets and DNS, `--allow-read`/`--allow-write`
 * and `--allow-net=unix:PATH` for Unix socket paths, `--allow-sys=hostname` for `gethostname()`,
 * `--allow-read=/etc/hosts` for lookups in the hosts file and
 * `--allow-sys=hostname,networkInterfaces` to resolve this machine's own name
 * (each skipped without its permission).
 *
 * @module
 */

import { _futureWait } from "../kernel/traps.ts";
import { timeoutAfter } from "../kernel/timeouts.ts";
import { currentTask } from "../kernel/current_task.ts";
import {
  AF_INET,
  AF_INET6,
  AF_UNIX,
  IPPROTO_TCP,
  IPPROTO_UDP,
  SHUT_RD,
  SHUT_RDWR,
  SHUT_WR,
  SOCK_DGRAM,
  SOCK_STREAM,
} from "./_constants.ts";
import { withWhat } from "./_errors.ts";
import { pendingSocket, Socket, unboundSocket } from "./socket_wrapper.ts";

export { AF_INET, AF_INET6, AF_UNIX, SHUT_RD, SHUT_RDWR, SHUT_WR, SOCK_DGRAM, SOCK_STREAM };
export { IPPROTO_TCP, IPPROTO_UDP };
// The option levels and names for Socket.setsockopt/getsockopt.
export {
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPV6_V6ONLY,
  SO_BROADCAST,
  SO_ERROR,
  SO_KEEPALIVE,
  SO_LINGER,
  SO_RCVBUF,
  SO_RCVTIMEO,
  SO_REUSEADDR,
  SO_REUSEPORT,
  SO_SNDBUF,
  SO_SNDTIMEO,
  SO_TYPE,
  SOL_SOCKET,
  TCP_KEEPCNT,
  TCP_KEEPIDLE,
  TCP_KEEPINTVL,
  TCP_NODELAY,
} from "./_constants.ts";
export { Socket };
// The types Socket's methods name, so that this entry point documents alone.
export type { Address, RawSocket } from "./socket_wrapper.ts";
export type { SocketStream } from "./socket_stream.ts";
export type { FileLike, FileStream, ReaderLike, StreamPair, WriterLike } from "./file_stream.ts";

/** Raw sockets (listed by `getaddrinfo` only when asked for; Deno cannot open them). */
export const SOCK_RAW = 3;
/** Unspecified family (`getaddrinfo`: any). */
export const AF_UNSPEC = 0;
/** `getnameinfo` flag: return the numeric host. */
export const NI_NUMERICHOST = 1;
/** `getnameinfo` flag: return the numeric port. */
export const NI_NUMERICSERV = 2;
/** `getnameinfo` flag: fail if the host has no name. */
export const NI_NAMEREQD = 8;

function checkFamily(family: number, type: number, action: string): void {
  if (family !== AF_INET && family !== AF_INET6 && family !== AF_UNIX) {
    throw new RangeError(
      `Cannot ${action}: family must be AF_INET, AF_INET6 or AF_UNIX, received ${family}`,
    );
  }
  if (type !== SOCK_STREAM && type !== SOCK_DGRAM) {
    throw new RangeError(
      `Cannot ${action}: type must be SOCK_STREAM or SOCK_DGRAM (Deno has no raw sockets), received ${type}`,
    );
  }
}

/**
 * Creates an unconnected socket; `bind`/`listen`/`connect` create the Deno
 * object.
 *
 * @param family `AF_INET` (default), `AF_INET6` or `AF_UNIX`.
 * @param type `SOCK_STREAM` (default) or `SOCK_DGRAM`.
 * @param _proto Ignored.
 * @returns The socket.
 * @throws {RangeError} For other families or types.
 *
 * @example Usage
 * ```ts
 * import { run } from "@curio/curio";
 * import { socket } from "@curio/curio/socket";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   await using server = socket();
 *   server.bind(["127.0.0.1", 0]);
 *   server.listen();
 *   await using client = socket();
 *   await client.connect(server.getsockname() as [string, number]);
 *   const [conn] = await server.accept();
 *   await client.sendall(new Uint8Array([9]));
 *   assert.deepEqual(await conn.recv(1), new Uint8Array([9]));
 *   await conn.close();
 * });
 * ```
 */
export function socket(family: number = AF_INET, type: number = SOCK_STREAM, _proto = 0): Socket {
  checkFamily(family, type, "create socket");
  return unboundSocket(family, type);
}

/**
 * A pair of connected sockets. Deno has no socketpair(2): this is a TCP
 * connection over 127.0.0.1 (needs `--allow-net=127.0.0.1`), finished in the
 * background (reads and writes wait for it).
 *
 * @param family Recorded on the sockets (default `AF_UNIX`, as in Python).
 * @param type Must be `SOCK_STREAM`.
 * @param _proto Ignored.
 * @returns Two connected sockets.
 * @throws {Error} For `SOCK_DGRAM`.
 *
 * @example Usage
 * ```ts
 * import { run } from "@curio/curio";
 * import { socketpair } from "@curio/curio/socket";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const [a, b] = socketpair();
 *   await a.sendall(new TextEncoder().encode("hi"));
 *   assert.equal(new TextDecoder().decode(await b.recv(10)), "hi");
 *   await a.close();
 *   await b.close();
 * });
 * ```
 */
export function socketpair(
  family: number = AF_UNIX,
  type: number = SOCK_STREAM,
  _proto = 0,
): [Socket, Socket] {
  checkFamily(family, type, "create socket pair");
  if (type !== SOCK_STREAM) {
    throw new Error("Cannot create socket pair: Deno can only make stream socket pairs");
  }
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  const accepting = listener.accept();
  const connecting = Deno.connect({ hostname: "127.0.0.1", port });
  const both = Promise.allSettled([accepting, connecting]).then(([a, c]) => {
    listener.close();
    if (a.status === "fulfilled" && c.status === "fulfilled") {
      if (a.value.remoteAddr.port === c.value.localAddr.port) return [a.value, c.value] as const;
      a.value.close();
      c.value.close();
      throw new Deno.errors.ConnectionAborted(
        "Cannot create socket pair: another connection reached the private listener first",
      );
    }
    if (a.status === "fulfilled") a.value.close();
    if (c.status === "fulfilled") c.value.close();
    throw (a.status === "rejected" ? a.reason : (c as PromiseRejectedResult).reason);
  });
  both.catch(() => {}); // reported by the sockets' first operation
  return [
    pendingSocket(both.then(([a]) => a), family),
    pendingSocket(both.then(([, c]) => c), family),
  ];
}

/**
 * Not available: Deno cannot wrap a file descriptor as a socket.
 *
 * @param _fd The descriptor.
 * @param _family The family.
 * @param _type The type.
 * @param _proto The protocol.
 * @returns Never.
 * @throws {Error} Always.
 *
 * @example Usage
 * ```ts
 * import { AF_INET, fromfd, SOCK_STREAM } from "@curio/curio/socket";
 * import assert from "node:assert/strict";
 *
 * assert.throws(() => fromfd(3, AF_INET, SOCK_STREAM), /Deno cannot/);
 * ```
 */
export function fromfd(_fd: number, _family: number, _type: number, _proto = 0): never {
  throw new Error(
    "Cannot create socket from a file descriptor: Deno cannot wrap a descriptor as a socket; use Deno.connect or Deno.listen",
  );
}

/**
 * Connects to `address` (resolved by Deno, IPv4 or IPv6), optionally within
 * `timeout` seconds.
 *
 * @param address `[host, port]`.
 * @param timeout Seconds before giving up with `TaskTimeout`.
 * @param sourceAddress Only `["", 0]` or `["0.0.0.0", 0]`: Deno cannot choose
 * the local address of an outgoing connection.
 * @returns The connected socket.
 * @throws {Deno.errors.ConnectionRefused} If nothing listens there.
 * @throws {Error} If `sourceAddress` asks for a specific local address.
 *
 * @example Usage
 * ```ts
 * import { run } from "@curio/curio";
 * import { createConnection } from "@curio/curio/socket";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   using listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 *   await using sock = await createConnection(["127.0.0.1", listener.addr.port], 5);
 *   assert.equal((sock.getpeername() as [string, number])[1], listener.addr.port);
 *   (await listener.accept()).close();
 * });
 * ```
 */
export async function createConnection(
  address: [string, number],
  timeout?: number,
  sourceAddress?: [string, number],
): Promise<Socket> {
  if (
    sourceAddress !== undefined && sourceAddress !== null &&
    !((sourceAddress[0] === "" || sourceAddress[0] === "0.0.0.0") && sourceAddress[1] === 0)
  ) {
    throw new Error(
      "Cannot create connection from a source address: Deno cannot choose the local address of an outgoing connection",
    );
  }
  const host = Array.isArray(address) ? address[0] : "";
  const sock = socket(host.includes(":") ? AF_INET6 : AF_INET, SOCK_STREAM);
  try {
    if (timeout === undefined || timeout === null) await sock.connect(address);
    else await timeoutAfter(timeout, () => sock.connect(address));
  } catch (error) {
    await sock.close();
    throw error;
  }
  return sock;
}

// --- name lookups ----------------------------------------------------------

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function isIPv4(s: string): boolean {
  const m = IPV4.exec(s);
  return m !== null && m.slice(1).every((p) => Number(p) <= 255);
}

function isIPv6(s: string): boolean {
  return s.includes(":") && /^[0-9a-fA-F:.]+$/.test(s);
}

interface HostsEntry {
  ip: string;
  names: string[];
}

async function readHosts(): Promise<HostsEntry[]> {
  let text: string;
  try {
    text = await Deno.readTextFile("/etc/hosts");
  } catch {
    return []; // no permission, or no file: DNS only
  }
  const entries: HostsEntry[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") continue;
    const [ip, ...names] = line.split(/\s+/);
    if (ip !== undefined && names.length > 0) entries.push({ ip, names });
  }
  return entries;
}

async function signal(): Promise<AbortSignal> {
  return (await currentTask()).signal;
}

async function resolveDns(
  name: string,
  type: "A" | "AAAA" | "PTR",
): Promise<string[]> {
  try {
    return await _futureWait(
      Deno.resolveDns(name, type, { signal: await signal() }) as Promise<string[]>,
    );
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw withWhat(error, `Cannot resolve host "${name}"`);
  }
}

/** Addresses of `host` as [family, ip] pairs, hosts file first, then DNS. */
async function resolve(host: string, family: number): Promise<Array<[number, string]>> {
  if (isIPv4(host)) return family === AF_INET6 ? [] : [[AF_INET, host]];
  if (isIPv6(host)) return family === AF_INET ? [] : [[AF_INET6, host]];
  const want = (f: number) => family === AF_UNSPEC || family === f;
  const out: Array<[number, string]> = [];
  const lower = host.toLowerCase();
  for (const entry of await readHosts()) {
    if (!entry.names.some((n) => n.toLowerCase() === lower)) continue;
    const f = isIPv4(entry.ip) ? AF_INET : AF_INET6;
    if (want(f)) out.push([f, entry.ip]);
  }
  if (out.length === 0 && lower === "localhost") {
    if (want(AF_INET)) out.push([AF_INET, "127.0.0.1"]);
    if (want(AF_INET6)) out.push([AF_INET6, "::1"]);
  }
  if (out.length > 0) return out;
  const own = ownAddresses(host, want);
  if (own.length > 0) return own;
  const [v4, v6] = await Promise.all([
    want(AF_INET) ? resolveDns(host, "A") : Promise.resolve([]),
    want(AF_INET6) ? resolveDns(host, "AAAA") : Promise.resolve([]),
  ]);
  for (const ip of v4) out.push([AF_INET, ip]);
  for (const ip of v6) out.push([AF_INET6, ip]);
  if (out.length === 0) {
    throw new Deno.errors.NotFound(`Cannot resolve host "${host}": no address found`);
  }
  return out;
}

/** This machine's own name, answered from its interfaces (as glibc's myhostname does). */
function ownAddresses(host: string, want: (family: number) => boolean): Array<[number, string]> {
  let mine: string;
  let interfaces: Deno.NetworkInterfaceInfo[];
  try {
    mine = Deno.hostname();
    if (host.toLowerCase() !== mine.toLowerCase()) return [];
    interfaces = Deno.networkInterfaces();
  } catch {
    return []; // no --allow-sys: DNS will answer, or not
  }
  const out: Array<[number, string]> = [];
  for (const iface of interfaces) {
    const family = iface.family === "IPv4" ? AF_INET : AF_INET6;
    if (want(family) && !iface.address.startsWith("fe80")) out.push([family, iface.address]);
  }
  // Loopback last: a name is best answered with an address others can reach.
  return out.sort((a, b) => Number(isLoopback(a[1])) - Number(isLoopback(b[1])));
}

function isLoopback(ip: string): boolean {
  return ip.startsWith("127.") || ip === "::1";
}

function reverseName(ip: string): string {
  if (isIPv4(ip)) return ip.split(".").reverse().join(".") + ".in-addr.arpa";
  // Expand IPv6 to 32 nibbles.
  const [head, tail = ""] = ip.split("::");
  const h = head === "" ? [] : head!.split(":");
  const t = tail === "" ? [] : tail.split(":");
  const groups = ip.includes("::") ? [...h, ...Array(8 - h.length - t.length).fill("0"), ...t] : h;
  const nibbles = groups.map((g) => g.padStart(4, "0")).join("");
  return nibbles.split("").reverse().join(".") + ".ip6.arpa";
}

async function nameOf(ip: string): Promise<string | undefined> {
  for (const entry of await readHosts()) if (entry.ip === ip) return entry.names[0];
  if (ip === "127.0.0.1" || ip === "::1") return "localhost";
  const names = await resolveDns(reverseName(ip), "PTR");
  return names[0]?.replace(/\.$/, "");
}

/**
 * Resolves `host` and `port` into socket addresses, like Python's
 * `getaddrinfo` (hosts file, then DNS via `Deno.resolveDns`).
 *
 * @param host A name or an IP literal (`null`/`""`: localhost).
 * @param port A port number (or a numeric string).
 * @param family `AF_UNSPEC` (0, default), `AF_INET` or `AF_INET6`.
 * @param type 0 (both), `SOCK_STREAM` or `SOCK_DGRAM`.
 * @param _proto Ignored.
 * @param _flags Ignored.
 * @returns `[family, type, proto, canonname, [ip, port]]` entries.
 * @throws {Deno.errors.NotFound} If the name has no address.
 *
 * @example Usage
 * ```ts
 * import { run } from "@curio/curio";
 * import { AF_INET, getaddrinfo, SOCK_STREAM } from "@curio/curio/socket";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const infos = await getaddrinfo("127.0.0.1", 80, AF_INET, SOCK_STREAM);
 *   assert.deepEqual(infos, [[AF_INET, SOCK_STREAM, 6, "", ["127.0.0.1", 80]]]);
 * });
 * ```
 */
export async function getaddrinfo(
  host: string | null,
  port: number | string | null,
  family = 0,
  type = 0,
  _proto = 0,
  _flags = 0,
): Promise<Array<[number, number, number, string, [string, number]]>> {
  const p = port === null ? 0 : Number(port);
  if (!Number.isInteger(p) || p < 0 || p > 65535) {
    throw new RangeError(`Cannot get address info: port must be 0-65535, received ${port}`);
  }
  const addrs = await resolve(host === null || host === "" ? "localhost" : host, family);
  const types = type === 0 ? [SOCK_STREAM, SOCK_DGRAM] : [type];
  const out: Array<[number, number, number, string, [string, number]]> = [];
  for (const [f, ip] of addrs) {
    for (const t of types) {
      out.push([f, t, t === SOCK_STREAM ? IPPROTO_TCP : t === SOCK_DGRAM ? IPPROTO_UDP : 0, "", [
        ip,
        p,
      ]]);
    }
  }
  return out;
}

/**
 * The machine's host name (`Deno.hostname()`, needs `--allow-sys=hostname`).
 *
 * @returns The host name.
 *
 * @example Usage
 * ```ts
 * import { run } from "@curio/curio";
 * import { gethostname } from "@curio/curio/socket";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   assert.equal(await gethostname(), Deno.hostname());
 * });
 * ```
 */
export async function gethostname(): Promise<string> {
  return Deno.hostname();
}

/**
 * The first IPv4 address of `hostname`.
 *
 * @param hostname A name or IPv4 literal.
 * @returns The address.
 * @throws {Deno.errors.NotFound} If it has none.
 *
 * @example Usage
 * ```ts
 * import { run } from "@curio/curio";
 * import { gethostbyname } from "@curio/curio/socket";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   assert.equal(await gethostbyname("localhost"), "127.0.0.1");
 * });
 * ```
 */
export async function gethostbyname(hostname: string): Promise<string> {
  return (await resolve(hostname, AF_INET))[0]![1];
}

/**
 * The name, aliases and IPv4 addresses of `hostname`.
 *
 * @param hostname A name or IPv4 literal.
 * @returns `[name, aliases, addresses]`.
 *
 * @example Usage
 * ```ts
 * import { run } from "@curio/curio";
 * import { gethostbynameEx } from "@curio/curio/socket";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const [name, , addrs] = await gethostbynameEx("127.0.0.1");
 *   assert.equal(name, "127.0.0.1");
 *   assert.deepEqual(addrs, ["127.0.0.1"]);
 * });
 * ```
 */
export async function gethostbynameEx(hostname: string): Promise<[string, string[], string[]]> {
  const addrs = (await resolve(hostname, AF_INET)).map(([, ip]) => ip);
  return [hostname, [], addrs];
}

/**
 * The host name of an IP address (hosts file, then a PTR lookup).
 *
 * @param ip An IPv4 or IPv6 literal.
 * @returns `[name, aliases, [ip]]`.
 * @throws {Deno.errors.NotFound} If the address has no name.
 *
 * @example Usage
 * ```ts
 * import { run } from "@curio/curio";
 * import { gethostbyaddr } from "@curio/curio/socket";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const [name] = await gethostbyaddr("127.0.0.1");
 *   assert.equal(typeof name, "string");
 * });
 * ```
 */
export async function gethostbyaddr(ip: string): Promise<[string, string[], string[]]> {
  if (!isIPv4(ip) && !isIPv6(ip)) {
    throw new TypeError(`Cannot get host by address: expected an IP address, received "${ip}"`);
  }
  const name = await nameOf(ip);
  if (name === undefined) {
    throw new Deno.errors.NotFound(`Cannot get host by address: no name found for ${ip}`);
  }
  return [name, [], [ip]];
}

/**
 * Host and port of a socket address as strings.
 *
 * @param sockaddr `[ip, port]`.
 * @param flags `NI_NUMERICHOST`, `NI_NUMERICSERV`, `NI_NAMEREQD` (or-ed).
 * @returns `[host, port]`.
 * @throws {Deno.errors.NotFound} With `NI_NAMEREQD` if the address has no name.
 *
 * @example Usage
 * ```ts
 * import { run } from "@curio/curio";
 * import { getnameinfo, NI_NUMERICHOST } from "@curio/curio/socket";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   assert.deepEqual(await getnameinfo(["127.0.0.1", 80], NI_NUMERICHOST), ["127.0.0.1", "80"]);
 * });
 * ```
 */
export async function getnameinfo(
  sockaddr: [string, number],
  flags = 0,
): Promise<[string, string]> {
  const [ip, port] = sockaddr;
  const serv = String(port);
  if (flags & NI_NUMERICHOST) return [ip, serv];
  let name: string | undefined;
  try {
    name = await nameOf(ip);
  } catch (error) {
    if (flags & NI_NAMEREQD) throw error;
  }
  if (name === undefined && flags & NI_NAMEREQD) {
    throw new Deno.errors.NotFound(`Cannot get name info: no name found for ${ip}`);
  }
  return [name ?? ip, serv];
}

/**
 * A fully qualified name for `name` (default: this host), or `name` itself
 * if none is known.
 *
 * @param name A host name or address.
 * @returns The name.
 *
 * @example Usage
 * ```ts
 * import { run } from "@curio/curio";
 * import { getfqdn } from "@curio/curio/socket";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   assert.equal(typeof await getfqdn("localhost"), "string");
 * });
 * ```
 */
export async function getfqdn(name = ""): Promise<string> {
  const host = name === "" || name === "0.0.0.0" ? Deno.hostname() : name;
  try {
    const [, ip] = (await resolve(host, AF_UNSPEC))[0]!;
    const full = await nameOf(ip);
    if (full !== undefined && full.includes(".")) return full;
  } catch {
    // No address or no name: the name itself is the best answer, as in Python.
  }
  return host;
}
