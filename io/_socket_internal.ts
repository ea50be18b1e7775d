// Doors between Socket (socket_wrapper.ts) and the modules built on it
// (socket.ts, ssl.ts, network.ts) that users must not open.

import type { Socket } from "./socket_wrapper.ts";
import type { StreamParts } from "./_parts.ts";

/** Filled in by socket_wrapper.ts when it loads. */
export const internals: {
  /** A socket with no Deno object yet: bind/listen/connect create it. */
  unbound: (family: number, type: number) => Socket;
  /** A socket whose connection Deno is still making (socketpair). */
  pending: (connecting: Promise<Deno.Conn>, family: number) => Socket;
  /** The buffered sides of a connected socket, for SocketStream. */
  parts: (sock: Socket) => StreamParts;
  /** Takes the raw Deno object away from `sock`, which is then closed. */
  detach: (sock: Socket, action: string) => Deno.Conn | Deno.Listener | Deno.DatagramConn;
} = {
  unbound: () => {
    throw new Error("socket_wrapper.ts is not loaded");
  },
  pending: () => {
    throw new Error("socket_wrapper.ts is not loaded");
  },
  parts: () => {
    throw new Error("socket_wrapper.ts is not loaded");
  },
  detach: () => {
    throw new Error("socket_wrapper.ts is not loaded");
  },
};
