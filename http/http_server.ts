/**
 * {@linkcode httpServer}: Deno's HTTP server (`Deno.serve`) on the kernel,
 * where every request is a task.
 *
 * What that buys over a raw `Deno.serve` handler:
 *
 * - **A client that goes away cancels its request.** The request's task
 *   gets `CancelledError` at the await where it is blocked, its `finally`
 *   blocks run (roll back, release, close), and its `Task.signal` aborts
 *   (pass it to `fetch()` to abort a forwarded request too).
 * - **Deadlines.** With `requestTimeout`, a handler still running then is
 *   cancelled the same way and the client gets a 503. A handler that throws
 *   gets a 500 and costs one line on stderr, not a stack trace per request.
 * - **Graceful shutdown.** Cancelling the server's task, or a listed signal
 *   (SIGINT, SIGTERM), stops accepting connections, lets the requests in
 *   flight finish within `shutdownGrace`, cancels the rest (they answer
 *   503), and `httpServer` returns. Nothing is left behind (listener,
 *   timer, signal handler), so the process then exits by itself.
 * - **Visible work.** Each request's task is named `METHOD /path`: the
 *   monitor's `ps` shows what the server is doing, and `where` shows where
 *   a slow request waits.
 *
 * Handlers are ordinary async functions running in their own task: they may
 * sleep, take locks, use queues, `runInThread`, sockets, and spawn tasks of
 * their own. For a streamed body written by the request's task (server-sent
 * events), return a {@linkcode streamResponse}.
 *
 * Deno note: `httpServer` reads `request.signal` to see disconnects. Deno
 * 2.9 in its default (legacy) mode also aborts that signal after every
 * successful response and prints a one-time warning about it; `httpServer`
 * stops listening before answering, so the warning is harmless. Run with
 * `--unstable-no-legacy-abort` (or `"unstable": ["no-legacy-abort"]` in
 * deno.json) to opt in to Deno's newer behaviour and silence it.
 *
 * @module
 */

import { _requireTask } from "../kernel/traps.ts";
import { SignalSet } from "../io/signal_set.ts";
import { type Handler, ServerRun } from "./_server.ts";

/** A request handler: like a `Deno.serve` handler, run in a task of its own. */
export type HttpHandler = Handler;

/** Options for {@linkcode httpServer}. */
export interface HttpServerOptions {
  /**
   * Share the port with other processes (`SO_REUSEPORT`; on Linux the
   * kernel spreads connections across them): one kernel per core.
   */
  reusePort?: boolean;
  /** Seconds a request may run before it is cancelled and answered 503 (default: no limit). */
  requestTimeout?: number;
  /** Seconds in-flight requests get at shutdown before they are cancelled (default 10). */
  shutdownGrace?: number;
  /**
   * Signals that start a graceful shutdown (default `["SIGINT", "SIGTERM"]`,
   * on Windows `["SIGINT", "SIGBREAK"]`; `[]` for none).
   */
  signals?: Deno.Signal[];
  /** Called once listening, with the address (the port, if 0 was asked for). */
  onListen?: (addr: Deno.NetAddr) => void;
  /** PEM certificate chain: serve HTTPS (with `key`). */
  cert?: string;
  /** PEM private key: serve HTTPS (with `cert`). */
  key?: string;
}

/** Ctrl-C and a service manager's stop (Windows has no SIGTERM: Ctrl-Break there). */
const DEFAULT_SIGNALS: readonly Deno.Signal[] = Deno.build.os === "windows"
  ? ["SIGINT", "SIGBREAK"]
  : ["SIGINT", "SIGTERM"];

/**
 * Serves HTTP on `host`:`port` with `handler`, each request in a task of its
 * own, until the calling task is cancelled or a listed signal arrives; then
 * shuts down gracefully and returns.
 *
 * - Requests are spawned in arrival order as tasks named `METHOD /path`, in
 *   a task group owned by the calling task (the server task).
 * - A client disconnect cancels the request's task (`CancelledError` at its
 *   blocking await; `finally` runs; `Task.signal` aborts).
 * - `requestTimeout`: a handler still running after that many seconds is
 *   cancelled and the client gets 503. A handler that throws (or returns
 *   something other than a Response) gets 500 and one line on stderr.
 * - Shutdown (the server task cancelled, or a signal in `signals`): the
 *   listener closes, idle keep-alive connections are closed, requests in
 *   flight get `shutdownGrace` seconds, then the rest are cancelled (503,
 *   `connection: close`); `httpServer` returns once Deno's server has
 *   finished. After a signal it resolves; after a cancel it rethrows the
 *   `CancelledError` (as every cancelled operation does). Cancelling it
 *   while it drains cuts the grace period short. Signals are only listened
 *   for until shutdown starts, so a second Ctrl-C ends the process.
 * - A streamed body from {@linkcode streamResponse} keeps its task running
 *   until the body ends; the task is cancelled if the client leaves.
 * - The shutdown ends when Deno has sent every response (Deno's own
 *   graceful shutdown). The request tasks are all gone by then, but a plain
 *   `ReadableStream` body that never ends, or a client that stopped reading,
 *   keeps `httpServer` waiting (it says so once on stderr): write
 *   long-lived bodies with `streamResponse`.
 *
 * @param host The address to listen on (`"127.0.0.1"`, `"0.0.0.0"`, `"::"`).
 * @param port The port; 0 picks a free one (see `onListen`).
 * @param handler Answers a request; may use every kernel operation.
 * @param options `reusePort`, `requestTimeout`, `shutdownGrace`, `signals`,
 * `onListen`, `cert`/`key`.
 * @returns Once the server has shut down after a listed signal.
 * @throws {TypeError} If an argument has the wrong type, or only one of `cert` and `key` is given.
 * @throws {RangeError} If `port` is not an integer in 0..65535, a duration is
 * negative or not finite, or a signal cannot be listened for.
 * @throws {CurioError} If called outside a task.
 * @throws {CancelledError} The server task's own cancellation, after the shutdown.
 * @throws {Deno.errors.AddrInUse} If the port is taken (and `reusePort` is not set).
 *
 * @example Usage
 * ```ts
 * import { httpServer, run, sleep, spawn } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   let port = 0;
 *   const server = await spawn(() =>
 *     httpServer("127.0.0.1", 0, async (request) => {
 *       await sleep(0.01); // any kernel operation
 *       return new Response(`hello from ${new URL(request.url).pathname}`);
 *     }, { signals: [], onListen: (addr) => port = addr.port })
 *   );
 *   const response = await fetch(`http://127.0.0.1:${port}/world`);
 *   assert.equal(await response.text(), "hello from /world");
 *   await server.cancel(); // graceful shutdown
 * });
 * ```
 */
export async function httpServer(
  host: string,
  port: number,
  handler: HttpHandler,
  options: HttpServerOptions = {},
): Promise<void> {
  if (typeof host !== "string") {
    throw new TypeError(
      `Cannot start HTTP server: expected host as a string, received ${typeof host}`,
    );
  }
  if (typeof port !== "number") {
    throw new TypeError(
      `Cannot start HTTP server: expected port as a number, received ${typeof port}`,
    );
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(
      `Cannot start HTTP server: port must be an integer in 0..65535, received ${port}`,
    );
  }
  if (typeof handler !== "function") {
    throw new TypeError(
      `Cannot start HTTP server: expected handler as a function such as (request) => new Response("hi"), received ${typeof handler}`,
    );
  }
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `Cannot start HTTP server: expected options as an object, received ${options}`,
    );
  }
  const {
    reusePort = false,
    requestTimeout,
    shutdownGrace = 10,
    signals = DEFAULT_SIGNALS,
    onListen,
    cert,
    key,
  } = options;
  if (typeof reusePort !== "boolean") {
    throw new TypeError(
      `Cannot start HTTP server: expected reusePort as a boolean, received ${typeof reusePort}`,
    );
  }
  if (requestTimeout !== undefined) checkSeconds("requestTimeout", requestTimeout, false);
  checkSeconds("shutdownGrace", shutdownGrace, true);
  if (!Array.isArray(signals)) {
    throw new TypeError(
      `Cannot start HTTP server: expected signals as an array such as ["SIGINT", "SIGTERM"], received ${typeof signals}`,
    );
  }
  if (signals.length > 0) new SignalSet(...signals); // checks the names
  if (onListen !== undefined && typeof onListen !== "function") {
    throw new TypeError(
      `Cannot start HTTP server: expected onListen as a function, received ${typeof onListen}`,
    );
  }
  if ((cert === undefined) !== (key === undefined)) {
    throw new TypeError("Cannot start HTTP server: HTTPS needs both cert and key (PEM text)");
  }
  if (cert !== undefined && (typeof cert !== "string" || typeof key !== "string")) {
    throw new TypeError("Cannot start HTTP server: expected cert and key as PEM text (strings)");
  }
  _requireTask("start an HTTP server");

  const serve: Deno.ServeTcpOptions & { cert?: string; key?: string } = {
    hostname: host,
    port,
    reusePort,
  };
  if (onListen !== undefined) serve.onListen = onListen;
  if (cert !== undefined && key !== undefined) {
    serve.cert = cert;
    serve.key = key;
  }
  await new ServerRun({
    handler,
    serve,
    requestTimeout,
    shutdownGrace,
    signals: [...signals],
  }).run();
}

function checkSeconds(name: string, value: unknown, zeroOk: boolean): void {
  if (typeof value !== "number") {
    throw new TypeError(
      `Cannot start HTTP server: expected ${name} in seconds as a number, received ${typeof value}`,
    );
  }
  if (!Number.isFinite(value) || value < 0 || (!zeroOk && value === 0)) {
    throw new RangeError(
      `Cannot start HTTP server: ${name} must be a finite number of seconds ${
        zeroOk ? ">= 0" : "> 0"
      }, received ${value}`,
    );
  }
}
