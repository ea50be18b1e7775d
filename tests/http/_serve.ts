// Helpers for the HTTP tests: start an httpServer on a free loopback port in
// a task of its own, and capture what it logs.

import {
  Event,
  httpServer,
  type HttpServerOptions,
  spawn,
  type Task,
  timeoutAfter,
} from "@curio/curio";

/** A server running in its own task; `await using` cancels it at the end of the block. */
export interface Running extends AsyncDisposable {
  /** The server task: cancel it to shut the server down. */
  task: Task<void>;
  port: number;
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  url: string;
}

/**
 * Starts `httpServer` on 127.0.0.1, port 0, in a new task named "server",
 * with no signals unless `options` lists some and a 1 s grace unless it
 * sets one; returns once it listens. Disposing it cancels the server task,
 * so a failed assertion ends the test instead of leaving the server
 * running (run() waits for every non-daemon task).
 */
export async function startServer(
  handler: (request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>) =>
    | Response
    | Promise<Response>,
  options: HttpServerOptions = {},
): Promise<Running> {
  let port = 0;
  const listening = new Event();
  const task = await spawn(() =>
    httpServer("127.0.0.1", 0, handler, {
      signals: [],
      shutdownGrace: 1,
      ...options,
      onListen: (addr) => {
        port = addr.port;
        void listening.set();
      },
    }), { name: "server" });
  await timeoutAfter(10, () => listening.wait());
  return {
    task,
    port,
    url: `http://127.0.0.1:${port}`,
    [Symbol.asyncDispose]: async () => {
      await task.cancel();
    },
  };
}

/** Runs `fn` with console.error captured; returns the lines it printed. */
export async function captureErrors(fn: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => {
    lines.push(args.map(String).join(" "));
  };
  try {
    await fn();
  } finally {
    console.error = original;
  }
  return lines;
}

/** Whether something listens on 127.0.0.1:`port` (a connect succeeds). */
export async function listening(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}
