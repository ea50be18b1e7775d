// Socket options by name, and why Deno cannot do the ones it cannot.
//
// Deno has no setsockopt(2). What it offers instead: `setNoDelay` and
// `setKeepAlive` on TCP connections, `reusePort` when it opens a TCP
// listener, `reuseAddress` when it opens a UDP socket; and it sets some
// options itself (measured with strace on Deno 2.9.6: SO_REUSEADDR on every
// TCP listener, SO_BROADCAST on every UDP socket). Socket.setsockopt() maps
// each option onto those (setOption below), and throws an Error naming the
// option otherwise.

import {
  AF_UNIX,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPPROTO_TCP,
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
  SOCK_DGRAM,
  SOL_SOCKET,
  TCP_KEEPCNT,
  TCP_KEEPIDLE,
  TCP_KEEPINTVL,
  TCP_NODELAY,
} from "./_constants.ts";

const NAMES = new Map<string, string>([
  [`${SOL_SOCKET}:${SO_TYPE}`, "SO_TYPE"],
  [`${SOL_SOCKET}:${SO_ERROR}`, "SO_ERROR"],
  [`${SOL_SOCKET}:${SO_REUSEADDR}`, "SO_REUSEADDR"],
  [`${SOL_SOCKET}:${SO_REUSEPORT}`, "SO_REUSEPORT"],
  [`${SOL_SOCKET}:${SO_KEEPALIVE}`, "SO_KEEPALIVE"],
  [`${SOL_SOCKET}:${SO_BROADCAST}`, "SO_BROADCAST"],
  [`${SOL_SOCKET}:${SO_SNDBUF}`, "SO_SNDBUF"],
  [`${SOL_SOCKET}:${SO_RCVBUF}`, "SO_RCVBUF"],
  [`${SOL_SOCKET}:${SO_LINGER}`, "SO_LINGER"],
  [`${SOL_SOCKET}:${SO_RCVTIMEO}`, "SO_RCVTIMEO"],
  [`${SOL_SOCKET}:${SO_SNDTIMEO}`, "SO_SNDTIMEO"],
  [`${IPPROTO_TCP}:${TCP_NODELAY}`, "TCP_NODELAY"],
  [`${IPPROTO_TCP}:${TCP_KEEPIDLE}`, "TCP_KEEPIDLE"],
  [`${IPPROTO_TCP}:${TCP_KEEPINTVL}`, "TCP_KEEPINTVL"],
  [`${IPPROTO_TCP}:${TCP_KEEPCNT}`, "TCP_KEEPCNT"],
  [`${IPPROTO_IPV6}:${IPV6_V6ONLY}`, "IPV6_V6ONLY"],
]);

const LEVELS = new Map<number, string>([
  [SOL_SOCKET, "SOL_SOCKET"],
  [IPPROTO_IP, "IPPROTO_IP"],
  [IPPROTO_TCP, "IPPROTO_TCP"],
  [IPPROTO_IPV6, "IPPROTO_IPV6"],
]);

/** Why Deno cannot do an option that has a name but no Deno API. */
const CANNOT: Record<string, string> = {
  SO_SNDBUF: "Deno has no API for socket buffer sizes",
  SO_RCVBUF: "Deno has no API for socket buffer sizes",
  SO_LINGER: "Deno has no API for lingering on close",
  SO_RCVTIMEO: "Deno has no socket timeouts; wrap the call in timeoutAfter() instead",
  SO_SNDTIMEO: "Deno has no socket timeouts; wrap the call in timeoutAfter() instead",
  TCP_KEEPIDLE: "Deno can only turn keep-alive on or off (SO_KEEPALIVE), not tune it",
  TCP_KEEPINTVL: "Deno can only turn keep-alive on or off (SO_KEEPALIVE), not tune it",
  TCP_KEEPCNT: "Deno can only turn keep-alive on or off (SO_KEEPALIVE), not tune it",
  IPV6_V6ONLY: "Deno has no API for it (an IPv6 listener on :: also accepts IPv4)",
};

/** The option's name (`"SO_REUSEADDR"`), or a description of the numbers. */
export function optionName(level: number, optname: number): string {
  const name = NAMES.get(`${level}:${optname}`);
  if (name !== undefined) return name;
  return `option ${optname} at level ${LEVELS.get(level) ?? level}`;
}

/** Why Deno cannot set or read `name` at all, or undefined if it can (sometimes). */
export function cannotReason(name: string): string | undefined {
  if (CANNOT[name] !== undefined) return CANNOT[name];
  return [...NAMES.values()].includes(name) ? undefined : "Deno has no API for it";
}

/** What the option rules need to know of a socket. */
export interface OptionTarget {
  /** `SOCK_STREAM` or `SOCK_DGRAM`. */
  readonly type: number;
  /** `AF_INET`, `AF_INET6` or `AF_UNIX`. */
  readonly family: number;
  /** The connection, if the socket is connected. */
  readonly conn: Deno.Conn | undefined;
  /** Whether the socket is listening (bind() opened a listener). */
  readonly listening: boolean;
  /** Whether the datagram socket is bound (Deno has opened it). */
  readonly datagramBound: boolean;
  /** The options set so far, by name; setOption() records into it. */
  readonly options: Map<string, number>;
}

/**
 * Sets option `name` on `target` as far as Deno can (see
 * Socket.setsockopt for the rules), and records it.
 *
 * @throws {TypeError} If `value` is not an integer or boolean.
 * @throws {Error} If Deno cannot set this option on this socket.
 */
export function setOption(target: OptionTarget, name: string, value: number | boolean): void {
  const action = `set ${name}`;
  if (typeof value === "boolean") value = Number(value);
  if (typeof value !== "number" || !Number.isInteger(value)) {
    throw new TypeError(
      `Cannot ${action}: expected an integer or a boolean, received ${
        (value as unknown) instanceof Uint8Array
          ? "bytes (Deno takes no raw option bytes)"
          : String(value)
      }`,
    );
  }
  const on = value === 0 ? 0 : 1;
  const reason = cannotReason(name);
  if (reason !== undefined) throw new Error(`Cannot ${action}: ${reason}`);
  const udp = target.type === SOCK_DGRAM;
  const tcp = !udp && target.family !== AF_UNIX;
  switch (name) {
    case "SO_TYPE":
    case "SO_ERROR":
      throw new Error(`Cannot ${action}: the option can only be read`);
    case "SO_REUSEADDR":
      if (udp && target.datagramBound) {
        throw new Error(
          `Cannot ${action}: the UDP socket is already bound (Deno applies it when bind() opens the socket; call setsockopt() before bind())`,
        );
      }
      if (tcp && on === 0 && target.conn === undefined) {
        throw new Error(
          `Cannot ${action} to 0: Deno's TCP listeners always reuse the address`,
        );
      }
      break;
    case "SO_REUSEPORT":
      if (!tcp) {
        throw new Error(
          `Cannot ${action}: Deno offers it only for TCP listeners${
            udp ? " (for UDP, SO_REUSEADDR is applied at bind())" : ""
          }`,
        );
      }
      if (target.listening || target.conn !== undefined) {
        throw new Error(
          `Cannot ${action}: the socket is already bound or connected (Deno applies it when bind() opens the listener; call setsockopt() before bind())`,
        );
      }
      break;
    case "SO_KEEPALIVE":
    case "TCP_NODELAY": {
      if (!tcp) throw new Error(`Cannot ${action}: Deno offers it only for TCP sockets`);
      const conn = target.conn as Partial<Deno.TcpConn> | undefined;
      const method = name === "SO_KEEPALIVE" ? "setKeepAlive" : "setNoDelay";
      if (conn !== undefined && typeof conn[method] !== "function") {
        throw new Error(
          `Cannot ${action}: Deno offers it only on plain TCP connections, not on TLS ones (set it before wrapping the socket)`,
        );
      }
      if (conn !== undefined) conn[method]!(on === 1);
      break;
    }
    case "SO_BROADCAST":
      if (!udp) throw new Error(`Cannot ${action}: the option is for UDP sockets`);
      if (on === 0) {
        throw new Error(`Cannot ${action} to 0: Deno's UDP sockets always allow broadcast`);
      }
      break;
  }
  target.options.set(name, on);
}

/**
 * Reads option `name` of `target`: what Deno does, or what setOption()
 * recorded, or 0.
 *
 * @throws {Error} If Deno cannot read this option.
 */
export function getOption(target: OptionTarget, name: string): number {
  const reason = cannotReason(name);
  if (reason !== undefined) throw new Error(`Cannot get ${name}: ${reason}`);
  switch (name) {
    case "SO_TYPE":
      return target.type;
    case "SO_ERROR":
      return 0; // Deno reports socket errors as exceptions, never as pending errors
    case "SO_REUSEADDR":
      if (target.listening && target.family !== AF_UNIX) return 1;
      break;
    case "SO_BROADCAST":
      if (target.type === SOCK_DGRAM) return 1;
      break;
  }
  return target.options.get(name) ?? 0;
}

/** Applies the recorded `SO_KEEPALIVE` and `TCP_NODELAY` to a new connection. */
export function applyConnOptions(options: Map<string, number>, conn: Deno.Conn): void {
  const tcp = conn as Partial<Deno.TcpConn>;
  const keepAlive = options.get("SO_KEEPALIVE");
  if (keepAlive !== undefined && typeof tcp.setKeepAlive === "function") {
    tcp.setKeepAlive(keepAlive === 1);
  }
  const noDelay = options.get("TCP_NODELAY");
  if (noDelay !== undefined && typeof tcp.setNoDelay === "function") {
    tcp.setNoDelay(noDelay === 1);
  }
}
