// The socket module's constants (Linux values, as Python's socket module has
// them). Shared by Socket and the socket module.

/** IPv4. */
export const AF_INET = 2;
/** IPv6. */
export const AF_INET6 = 10;
/** Unix domain sockets. */
export const AF_UNIX = 1;
/** Stream sockets (TCP, Unix streams). */
export const SOCK_STREAM = 1;
/** Datagram sockets (UDP). */
export const SOCK_DGRAM = 2;
/** Shut down the reading side. */
export const SHUT_RD = 0;
/** Shut down the writing side. */
export const SHUT_WR = 1;
/** Shut down both sides. */
export const SHUT_RDWR = 2;

// Socket options (Linux values). What Deno can do with each is decided in
// _sockopt.ts.

/** Option level: the socket itself. */
export const SOL_SOCKET = 1;
/** Option level: IPv4. */
export const IPPROTO_IP = 0;
/** Option level (and protocol number): TCP. */
export const IPPROTO_TCP = 6;
/** Option level (and protocol number): UDP. */
export const IPPROTO_UDP = 17;
/** Option level: IPv6. */
export const IPPROTO_IPV6 = 41;
/** Read-only: the socket type (`SOCK_STREAM`, `SOCK_DGRAM`). */
export const SO_TYPE = 3;
/** Read-only: the pending socket error (always 0 here: Deno reports errors as exceptions). */
export const SO_ERROR = 4;
/** Reuse a local address (Deno's TCP listeners always do). */
export const SO_REUSEADDR = 2;
/** Allow sending to broadcast addresses (Deno's UDP sockets always do). */
export const SO_BROADCAST = 6;
/** Send buffer size (Deno cannot set or read it). */
export const SO_SNDBUF = 7;
/** Receive buffer size (Deno cannot set or read it). */
export const SO_RCVBUF = 8;
/** TCP keep-alive probes (`Deno.TcpConn.setKeepAlive`). */
export const SO_KEEPALIVE = 9;
/** Linger on close (Deno cannot set it). */
export const SO_LINGER = 13;
/** Let several listeners bind one port (`reusePort` of `Deno.listen`). */
export const SO_REUSEPORT = 15;
/** Receive timeout (Deno cannot set it; use `timeoutAfter`). */
export const SO_RCVTIMEO = 20;
/** Send timeout (Deno cannot set it; use `timeoutAfter`). */
export const SO_SNDTIMEO = 21;
/** Disable Nagle's algorithm (`Deno.TcpConn.setNoDelay`). */
export const TCP_NODELAY = 1;
/** Idle seconds before keep-alive probes (Deno cannot set it). */
export const TCP_KEEPIDLE = 4;
/** Seconds between keep-alive probes (Deno cannot set it). */
export const TCP_KEEPINTVL = 5;
/** Keep-alive probes before giving up (Deno cannot set it). */
export const TCP_KEEPCNT = 6;
/** IPv6 sockets only (Deno cannot set it). */
export const IPV6_V6ONLY = 26;
