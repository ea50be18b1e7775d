// Socket options by name, and why Deno cannot do the ones it cannot.
//
// Deno has no setsockopt(2). What it offers instead: `setNoDelay` and
// `setKeepAlive` on TCP connections, `reusePort` when it opens a TCP
// listener, `reuseAddress` when it opens a UDP socket; and it sets some
// options itself (measured with strace on Deno 2.9.6: SO_REUSEADDR on every
// TCP listener, SO_BROADCAST on every UDP socket). Socket.setsockopt() maps
// each option onto those, and throws an Error naming the option otherwise.

import {
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
