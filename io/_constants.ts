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
