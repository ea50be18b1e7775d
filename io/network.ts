/**
 * High-level networking: connect to servers and write servers in a few
 * lines, each client handled by its own task.
 *
 * Servers (`tcpServer`, `unixServer`, `runServer`):
 * - each connection runs `clientConnectedTask(client, addr)` in its own
 *   (daemon) task; the client socket is closed when the handler returns or
 *   throws;
 * - a failing handler fails only its own task (logged by the kernel unless
 *   `logErrors: false`), never the server;
 * - with TLS, a client whose handshake fails (it does not trust the
 *   certificate, or does not speak TLS) is closed with one line on stderr;
 * - cancelling the server task closes the listener and cancels (and awaits)
 *   every client task.
 *
 * Permissions: `--allow-net` (TCP), `--allow-read`/`--allow-write` and
 * `--allow-net=unix:PATH` (Unix socket paths), `--allow-read` for TLS
 * certificate files.
 *
 * @module
 */

import { CancelledError } from "../kernel/errors.ts";
import { spawn } from "../kernel/spawn.ts";
import type { Task } from "../kernel/task.ts";
import { AF_INET, AF_INET6, AF_UNIX, SOCK_STREAM } from "./_constants.ts";
import { createConnection, socket } from "./socket.ts";
import { createDefaultContext, SSLContext } from "./ssl.ts";
import { type Address, Socket } from "./socket_wrapper.ts";

function checkHandler(handler: unknown, action: string): void {
  if (typeof handler !== "function") {
    throw new TypeError(
      `Cannot ${action}: clientConnectedTask must be a function such as (client, addr) => handle(client), received ${
        handler === null ? "null" : typeof handler
      }`,
    );
  }
}

/** Options for {@linkcode openConnection}. */
export interface OpenConnectionOptions {
  /** `true` (default context) or an SSLContext: connect with TLS. */
  ssl?: boolean | SSLContext;
  /** Only `["", 0]`: Deno cannot choose the local address. */
  sourceAddr?: [string, number];
  /** The name the server certificate must match (default: `host`). */
  serverHostname?: string;
}

async function applyTls(
  sock: Socket,
  ssl: boolean | SSLContext | undefined,
  serverHostname: string | undefined,
): Promise<Socket> {
  if (ssl === undefined || ssl === false) return sock;
  const ctx = ssl === true ? createDefaultContext() : ssl;
  if (!(ctx instanceof SSLContext)) {
    await sock.close();
    throw new TypeError("Cannot apply TLS: ssl must be true or an SSLContext");
  }
  try {
    return await ctx.wrapSocket(
      sock,
      serverHostname === undefined ? {} : { serverHostname },
    );
  } catch (error) {
    await sock.close();
    throw error;
  }
}

/**
 * Connects to `host`:`port` (IPv4 or IPv6, as Deno resolves it), optionally
 * with TLS.
 *
 * @param host Name or address.
 * @param port Port.
 * @param options `ssl`, `serverHostname`, `sourceAddr`.
 * @returns The connected socket.
 * @throws {Deno.errors.ConnectionRefused} If nothing listens there.
 * @throws {Deno.errors.InvalidData} If TLS verification fails.
 *
 * @example Usage
 * ```ts
 * import { openConnection, run, tcpServerSocket } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   await using server = tcpServerSocket("127.0.0.1", 0);
 *   const [host, port] = server.getsockname() as [string, number];
 *   await using client = await openConnection(host, port);
 *   const [conn] = await server.accept();
 *   await conn.sendall(new TextEncoder().encode("welcome"));
 *   await conn.close();
 *   assert.equal(new TextDecoder().decode(await client.asStream().readall()), "welcome");
 * });
 * ```
 */
export async function openConnection(
  host: string,
  port: number,
  options: OpenConnectionOptions = {},
): Promise<Socket> {
  if (typeof host !== "string") {
    throw new TypeError("Cannot open connection: host must be a string");
  }
  const sock = await createConnection([host, port], undefined, options.sourceAddr);
  return await applyTls(sock, options.ssl, options.serverHostname ?? host);
}

/** Options for {@linkcode openUnixConnection}. */
export interface OpenUnixConnectionOptions {
  /** Not possible: Deno starts TLS only on TCP connections (throws an Error saying so). */
  ssl?: boolean | SSLContext;
  /** The name the server certificate must match. */
  serverHostname?: string;
}

/**
 * Connects to the Unix socket at `path`.
 *
 * @param path The socket's path.
 * @param options `ssl`, `serverHostname`.
 * @returns The connected socket.
 * @throws {Deno.errors.NotFound} If no socket exists at `path`.
 *
 * @example Usage
 * ```ts
 * import { openUnixConnection, run } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await run(async () => {
 *   await assert.rejects(openUnixConnection(`${dir}/none.sock`), Deno.errors.NotFound);
 * });
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function openUnixConnection(
  path: string,
  options: OpenUnixConnectionOptions = {},
): Promise<Socket> {
  const sock = socket(AF_UNIX, SOCK_STREAM);
  try {
    await sock.connect(path);
  } catch (error) {
    await sock.close();
    throw error;
  }
  return await applyTls(sock, options.ssl, options.serverHostname ?? "localhost");
}

/** Options for {@linkcode tcpServerSocket} and {@linkcode tcpServer}. */
export interface TcpServerOptions {
  /** `AF_INET` (default) or `AF_INET6`. */
  family?: number;
  /** Ignored: Deno chooses the backlog. */
  backlog?: number;
  /** Ignored: Deno listeners always reuse the address (SO_REUSEADDR). */
  reuseAddress?: boolean;
  /** Serve TLS with this context (it must have a certificate chain loaded). */
  ssl?: SSLContext;
}

/**
 * A TCP socket bound to `host`:`port` and listening. Port 0 picks an
 * ephemeral port: `getsockname()` tells which.
 *
 * @param host Interface to listen on (`""`: all IPv4 interfaces).
 * @param port Port, or 0.
 * @param options `family`, `backlog`, `reuseAddress` (the last two ignored).
 * @returns The listening socket.
 * @throws {Deno.errors.AddrInUse} If the port is taken.
 *
 * @example Usage
 * ```ts
 * import { tcpServerSocket } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * const sock = tcpServerSocket("127.0.0.1", 0);
 * assert((sock.getsockname() as [string, number])[1] > 0);
 * await sock.close();
 * ```
 */
export function tcpServerSocket(
  host: string,
  port: number,
  options: Omit<TcpServerOptions, "ssl"> = {},
): Socket {
  const family = options.family ?? (host.includes(":") ? AF_INET6 : AF_INET);
  const sock = socket(family, SOCK_STREAM);
  sock.bind([host === "" ? (family === AF_INET6 ? "::" : "0.0.0.0") : host, port]);
  sock.listen(options.backlog ?? 100);
  return sock;
}

/**
 * Accepts connections on the listening `sock` forever, running
 * `clientConnectedTask(client, addr)` for each in its own task (see the
 * module notes). Cancel the task running it to stop it.
 *
 * @param sock A listening socket (closed when the server stops).
 * @param clientConnectedTask The handler.
 * @param options `ssl`: accept TLS connections (re-opens `sock` as a TLS listener).
 * @returns Never returns normally.
 *
 * @example Usage
 * ```ts
 * import { openConnection, run, runServer, type Socket, spawn, tcpServerSocket } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * async function hello(client: Socket): Promise<void> {
 *   await client.sendall(new TextEncoder().encode("hello\n"));
 * }
 *
 * await run(async () => {
 *   const sock = tcpServerSocket("127.0.0.1", 0);
 *   const [host, port] = sock.getsockname() as [string, number];
 *   const server = await spawn(() => runServer(sock, hello));
 *   await using c = await openConnection(host, port);
 *   assert.equal(new TextDecoder().decode(await c.asStream().readline()), "hello\n");
 *   await server.cancel();
 * });
 * ```
 */
export async function runServer<A extends Address>(
  sock: Socket,
  clientConnectedTask: (client: Socket, addr: A) => Promise<void>,
  options: { ssl?: SSLContext } = {},
): Promise<never> {
  if (!(sock instanceof Socket)) throw new TypeError("Cannot run server: expected a curio Socket");
  checkHandler(clientConnectedTask, "run server");
  let listener = sock;
  if (options.ssl !== undefined) {
    try {
      listener = await options.ssl.wrapSocket(sock, { serverSide: true });
    } catch (error) {
      await sock.close();
      throw error;
    }
  }
  const tls = options.ssl !== undefined;
  const clients = new Map<object, Task<void> | undefined>();
  try {
    while (true) {
      const [client, addr] = await listener.accept();
      const token = {};
      clients.set(token, undefined);
      const peer = typeof addr === "string" ? addr || "a Unix client" : addr.join(":");
      const task = await spawn(async () => {
        try {
          if (tls && !(await handshake(client, peer))) return;
          await clientConnectedTask(client, addr as A);
        } finally {
          clients.delete(token);
          await client.close();
        }
      }, { daemon: true, name: `client ${peer}` });
      if (clients.has(token)) clients.set(token, task);
    }
  } finally {
    await listener.close();
    for (const task of [...clients.values()].reverse()) await task?.cancel();
  }
}

/**
 * The server side of a client's TLS handshake. A client that is refused (it
 * does not trust our certificate, or does not speak TLS) is routine for a
 * server: one line on stderr, not a crash report, and the server goes on.
 */
async function handshake(client: Socket, peer: string): Promise<boolean> {
  try {
    await client.doHandshake();
    return true;
  } catch (error) {
    if (error instanceof CancelledError) throw error;
    console.error(`curio: TLS handshake with ${peer} failed: ${handshakeFailure(error)}`);
    return false;
  }
}

/** Why a client's handshake failed, in words (rustls's message after them). */
function handshakeFailure(error: unknown): string {
  const raw = error instanceof Error ? error.message.split("\n")[0]! : String(error);
  if (raw.includes("received fatal alert")) {
    return `the client refused it (${raw}: usually, the client does not trust our certificate)`;
  }
  if (raw.includes("corrupt message") || raw.includes("InvalidContentType")) {
    return `the client does not speak TLS (${raw})`;
  }
  if (raw.includes("unexpected end of file")) return `the client hung up (${raw})`;
  return raw;
}

/**
 * A TCP server: `tcpServerSocket(host, port)` then `runServer`, with TLS if
 * `ssl` is given. Runs until cancelled.
 *
 * @param host Interface (`""`: all IPv4 interfaces).
 * @param port Port (0: ephemeral; use `tcpServerSocket` + `runServer` to learn it).
 * @param clientConnectedTask The handler: `(client, [host, port]) => ...`.
 * @param options `family`, `backlog`, `ssl`, `reuseAddress`.
 * @returns Never returns normally.
 *
 * @example Usage
 * ```ts
 * import { run, sleep, spawn, tcpServer } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   const server = await spawn(() => tcpServer("127.0.0.1", 0, async () => {}));
 *   await sleep(0);
 *   assert.equal(await server.cancel(), true);
 * });
 * ```
 */
export async function tcpServer(
  host: string,
  port: number,
  clientConnectedTask: (client: Socket, addr: [string, number]) => Promise<void>,
  options: TcpServerOptions = {},
): Promise<never> {
  checkHandler(clientConnectedTask, "run TCP server");
  const sock = tcpServerSocket(host, port, options);
  const ssl = options.ssl;
  return await runServer(sock, clientConnectedTask, ssl === undefined ? {} : { ssl });
}

/** Options for {@linkcode unixServer}. */
export interface UnixServerOptions {
  /** Ignored: Deno chooses the backlog. */
  backlog?: number;
  /** Not possible: Deno has no TLS listener for Unix sockets (throws). */
  ssl?: SSLContext;
}

/**
 * A Unix socket server at `path` (the path must not exist). Runs until
 * cancelled; the socket file is left in place, as in curio.
 *
 * @param path Where to create the socket.
 * @param clientConnectedTask The handler: `(client, path) => ...`.
 * @param options `backlog`, `ssl`.
 * @returns Never returns normally.
 * @throws {Deno.errors.AddrInUse} If `path` exists.
 *
 * @example Usage
 * ```ts
 * import { openUnixConnection, run, sleep, spawn, unixServer } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * const dir = await Deno.makeTempDir();
 * await run(async () => {
 *   const path = `${dir}/echo.sock`;
 *   const server = await spawn(() => unixServer(path, async (c) => {
 *     await c.sendall(await c.recv(100));
 *   }));
 *   await sleep(0);
 *   await using c = await openUnixConnection(path);
 *   await c.sendall(new Uint8Array([1, 2]));
 *   assert.deepEqual(await c.recv(100), new Uint8Array([1, 2]));
 *   await server.cancel();
 * });
 * await Deno.remove(dir, { recursive: true });
 * ```
 */
export async function unixServer(
  path: string,
  clientConnectedTask: (client: Socket, addr: string) => Promise<void>,
  options: UnixServerOptions = {},
): Promise<never> {
  checkHandler(clientConnectedTask, "run Unix server");
  const sock = socket(AF_UNIX, SOCK_STREAM);
  sock.bind(path);
  const ssl = options.ssl;
  return await runServer(sock, clientConnectedTask, ssl === undefined ? {} : { ssl });
}
