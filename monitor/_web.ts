// The live web page, served on loopback by the monitor's worker.
//
// Routes (every one needs the per-run token, and a Host header naming this
// loopback server, which defeats DNS rebinding):
//   GET  /?token=T          the page (plain HTML and a small script)
//   GET  /events?token=T    server-sent events: `table` once, then `update`
//                           (rows changed, tasks gone) and `status` (is the
//                           kernel responding)
//   GET  /stack?id=N&token=T  where task N is blocked, as text
//   POST /cancel?id=N       cancels task N; the token in an X-Curio-Token
//                           header (a page elsewhere cannot send one)

import type { Answer, Feed, TableChange } from "./_feed.ts";
import { printable } from "./_feed.ts";
import { PAGE_HTML } from "./_page.ts";
import type { MonitorLimits } from "./_protocol.ts";

/** How often an event stream sends pending changes, at most (ms). */
export const PUSH_MS = 250;

export const SECURITY_HEADERS: Record<string, string> = {
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
};

export function text(status: number, body: string): Response {
  return new Response(body + "\n", {
    status,
    headers: { ...SECURITY_HEADERS, "content-type": "text/plain; charset=utf-8" },
  });
}

/** Compares two strings in time that does not depend on where they differ. */
export function sameSecret(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** The web page server. */
export class WebServer {
  readonly token: string;
  readonly port: number;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #streams = new Set<() => void>();
  #hosts: Set<string>;

  private constructor(
    readonly feed: Feed,
    readonly limits: MonitorLimits,
    server: Deno.HttpServer<Deno.NetAddr>,
    token: string,
  ) {
    this.#server = server;
    this.token = token;
    this.port = server.addr.port;
    this.#hosts = new Set(
      ["127.0.0.1", "localhost", "[::1]"].map((h) => `${h}:${this.port}`),
    );
  }

  /** Starts serving on 127.0.0.1, on a free port. */
  static start(feed: Feed, limits: MonitorLimits): WebServer {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    const token = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    const made: { web?: WebServer } = {};
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      (req) => made.web === undefined ? text(503, "starting") : made.web.#handle(req),
    );
    made.web = new WebServer(feed, limits, server, token);
    return made.web;
  }

  /** The page's address, token included. */
  get url(): string {
    return `http://127.0.0.1:${this.port}/?token=${this.token}`;
  }

  async close(): Promise<void> {
    for (const end of [...this.#streams]) end();
    await this.#server.shutdown();
  }

  #handle(req: Request): Response | Promise<Response> {
    const host = req.headers.get("host") ?? "";
    if (!this.#hosts.has(host.toLowerCase())) {
      return text(403, "forbidden: this page answers only to 127.0.0.1, localhost or [::1]");
    }
    const url = new URL(req.url);
    const given = req.method === "POST"
      ? req.headers.get("x-curio-token")
      : url.searchParams.get("token");
    if (given === null || !sameSecret(given, this.token)) {
      return text(
        403,
        "forbidden: open the address the program printed at start; it carries the token",
      );
    }
    if (req.method === "GET" && url.pathname === "/") {
      return new Response(PAGE_HTML, {
        headers: {
          ...SECURITY_HEADERS,
          "content-type": "text/html; charset=utf-8",
          "content-security-policy": "default-src 'none'; script-src 'unsafe-inline'; " +
            "style-src 'unsafe-inline'; connect-src 'self'; base-uri 'none'; " +
            "form-action 'none'; frame-ancestors 'none'",
        },
      });
    }
    if (req.method === "GET" && url.pathname === "/events") return this.#events();
    if (req.method === "GET" && url.pathname === "/stack") return this.#stack(url);
    if (req.method === "POST" && url.pathname === "/cancel") {
      const origin = req.headers.get("origin");
      if (origin !== null && !this.#hosts.has(origin.replace(/^http:\/\//, ""))) {
        return text(403, "forbidden: cross-origin request");
      }
      return this.#cancel(url);
    }
    return text(404, "not found");
  }

  #id(url: URL): number | undefined {
    const id = url.searchParams.get("id") ?? "";
    return /^\d{1,15}$/.test(id) ? Number(id) : undefined;
  }

  async #stack(url: URL): Promise<Response> {
    const id = this.#id(url);
    if (id === undefined) return text(400, "error: expected ?id=N, a task id");
    const answer = await this.feed.ask({ t: "where", id });
    if (answer.ok) return text(answer.error ? 404 : 200, answer.text);
    const stack = this.feed.stacks.get(id);
    return text(
      200,
      [...this.feed.stallReport(), stack ?? "(no stack recorded for this task)"].join("\n"),
    );
  }

  async #cancel(url: URL): Promise<Response> {
    const id = this.#id(url);
    if (id === undefined) return text(400, "error: expected ?id=N, a task id");
    const answer: Answer = await this.feed.ask({ t: "cancel", id });
    if (answer.ok) return text(answer.error ? 404 : 200, answer.text);
    return text(
      503,
      `not yet: the kernel has not responded for ${(answer.stalledFor / 1000).toFixed(1)}s; ` +
        "the cancel is queued and runs when it responds again",
    );
  }

  async #events(): Promise<Response> {
    if (this.#streams.size >= this.limits.maxWebClients) {
      return text(503, `too many pages open (limit ${this.limits.maxWebClients})`);
    }
    const feed = this.feed;
    await feed.refresh();
    const encoder = new TextEncoder();
    let end = (): void => {};
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        const send = (event: string, data: unknown): void => {
          controller.enqueue(encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
        };
        const rows = new Map<number, unknown>();
        const gone = new Set<number>();
        let now = feed.kernelNow;
        let lastStatus = "";
        const unsubscribe = feed.subscribe((change: TableChange) => {
          for (const row of change.rows) {
            rows.set(row.id, { ...row, name: printable(row.name) });
            gone.delete(row.id);
          }
          for (const id of change.gone) {
            rows.delete(id);
            gone.add(id);
          }
          now = change.now;
        });
        const status = (): void => {
          const report = feed.stallReport();
          const key = report.length === 0 ? "" : report[0]!.replace(/[\d.]+s \(/, "(");
          send("status", { stalled: feed.stalledFor(), report, at: Date.now() });
          lastStatus = key;
        };
        const timer = setInterval(() => {
          try {
            if (rows.size > 0 || gone.size > 0) {
              send("update", { now, rows: [...rows.values()], gone: [...gone] });
              rows.clear();
              gone.clear();
            }
            const report = feed.stallReport();
            if (report.length > 0 || lastStatus !== "") status();
          } catch {
            end();
          }
        }, PUSH_MS);
        end = () => {
          clearInterval(timer);
          unsubscribe();
          this.#streams.delete(end);
          try {
            controller.close();
          } catch { /* already closed */ }
        };
        this.#streams.add(end);
        send("table", {
          now: feed.kernelNow,
          rows: [...feed.tasks.values()].map((row) => ({ ...row, name: printable(row.name) })),
        });
        status();
      },
      cancel: () => end(),
    });
    return new Response(body, {
      headers: {
        ...SECURITY_HEADERS,
        "content-type": "text/event-stream; charset=utf-8",
      },
    });
  }
}
