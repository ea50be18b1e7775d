// The monitor's worker: the console server (and, on demand, the web page),
// fed by the main thread's snapshots.
//
// Nothing here touches the kernel: it keeps a copy of the task table
// (_feed.ts) and asks the main thread for anything that acts on the
// program. That is why it answers while the main thread is stuck.
//
// The worker starts from a Blob holding the source of `serverMain` and of
// the classes and functions it uses (_worker_source.ts), not from this file:
// a Worker loaded from a local file needs --allow-read, a Blob needs none.
// So the code that runs in the worker may use only globals and the names
// _worker_source.ts lists.

import { type ConsoleHost, isDisconnect, Session } from "./_console.ts";
import { Feed } from "./_feed.ts";
import type { AgentMessage, MonitorLimits, WorkerRequest } from "./_protocol.ts";
import { WebServer } from "./_web.ts";

/** How often idle sessions are looked for (ms). */
export const SWEEP_MS = 250;

/** The console server and its sessions. */
export class Server implements ConsoleHost {
  readonly sessions: Set<Session> = new Set();
  #web: WebServer | undefined = undefined;
  #sweeper: ReturnType<typeof setInterval>;
  #accepting: Promise<void>;

  constructor(
    readonly feed: Feed,
    readonly limits: MonitorLimits,
    readonly listener: Deno.TcpListener,
  ) {
    this.#sweeper = setInterval(() => this.#sweep(), SWEEP_MS);
    this.#accepting = this.#accept();
  }

  web(): Promise<string> {
    this.#web ??= WebServer.start(this.feed, this.limits);
    return Promise.resolve(this.#web.url);
  }

  async #accept(): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.listener.accept();
      } catch {
        return; // the listener was closed
      }
      void this.#admit(conn);
    }
  }

  async #admit(conn: Deno.TcpConn): Promise<void> {
    const session = new Session(this, conn);
    if (this.sessions.size >= this.limits.maxClients) {
      let oldest: Session | undefined;
      for (const s of this.sessions) {
        if (oldest === undefined || s.lastActivity < oldest.lastActivity) oldest = s;
      }
      const idle = oldest === undefined ? 0 : (Date.now() - oldest.lastActivity) / 1000;
      if (oldest === undefined || idle < this.limits.evictAfter) {
        await session.end(
          `error: too many monitor clients (limit ${this.limits.maxClients}); try again later\n`,
        );
        return;
      }
      this.sessions.delete(oldest);
      await oldest.end(
        `\nerror: closing this connection after ${idle.toFixed(0)}s idle, ` +
          "to make room for a new client\n",
      );
    }
    this.sessions.add(session);
    try {
      await session.serve();
    } catch (error) {
      if (!isDisconnect(error)) console.error("curio monitor: a console session failed:", error);
    } finally {
      this.sessions.delete(session);
    }
  }

  #sweep(): void {
    const now = Date.now();
    const limit = this.limits.idleTimeout * 1000;
    for (const session of this.sessions) {
      if (now - session.lastActivity >= limit) {
        this.sessions.delete(session);
        void session.end(
          `\nerror: closing this connection after ${this.limits.idleTimeout}s without a command\n`,
        );
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
    try {
      this.listener.close();
    } catch { /* already closed */ }
    await this.#accepting;
    const goodbyes = [...this.sessions].map((s) =>
      s.end("\ncurio monitor: the program is exiting; bye\n")
    );
    await Promise.allSettled(goodbyes);
    await this.#web?.close();
  }
}

/** What the worker sees of its global scope. */
interface WorkerScope {
  postMessage(message: unknown): void;
  onmessage: ((event: MessageEvent<AgentMessage>) => void) | null;
}

/** The worker's program: waits for `start`, then serves until `close`. */
export function serverMain(): void {
  const scope = globalThis as unknown as WorkerScope;
  const post = (msg: WorkerRequest): void => scope.postMessage(msg);
  let server: Server | undefined;
  let feed: Feed | undefined;
  scope.onmessage = async (event: MessageEvent<AgentMessage>) => {
    const msg = event.data;
    if (msg.t === "start") {
      feed = new Feed(post, msg.running);
      let listener: Deno.TcpListener;
      try {
        listener = Deno.listen({ hostname: msg.host, port: msg.port, transport: "tcp" });
      } catch (error) {
        post({
          t: "failed",
          message: (error as Error)?.message ?? String(error),
          code: (error as Error)?.name ?? "Error",
        });
        return;
      }
      server = new Server(feed, msg.limits, listener);
      const addr = listener.addr;
      const listening: WorkerRequest = { t: "listening", host: addr.hostname, port: addr.port };
      if (msg.web) listening.web = await server.web();
      post(listening);
    } else if (msg.t === "close") {
      await server?.close();
      post({ t: "closed" });
    } else {
      feed?.receive(msg);
    }
  };
}
