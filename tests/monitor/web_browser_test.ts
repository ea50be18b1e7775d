// The web page in a real browser: headless Chromium loads it, the table must
// show the running tasks, and its Cancel button must cancel one. The test
// installs nothing: without a `chromium` on PATH it is skipped, saying so
// (`.ci/run` installs the Debian package `chromium` when it is missing).
//
// Chromium is driven over its DevTools protocol (a WebSocket), with nothing
// but Deno's own WebSocket and fetch.

import assert from "node:assert/strict";
import { run, sleep, spawn, timeoutAfter } from "@curio/curio";

function findChromium(): string | undefined {
  for (const name of ["chromium", "chromium-browser"]) {
    try {
      const out = new Deno.Command(name, { args: ["--version"], stdout: "null", stderr: "null" })
        .outputSync();
      if (out.success) return name;
    } catch { /* not installed */ }
  }
  return undefined;
}

const chromium = findChromium();
if (chromium === undefined) {
  console.log(
    "web_browser_test: skipped, no chromium on PATH (install it with: apt-get install -y chromium)",
  );
}

/** A headless Chromium with one page, driven over the DevTools protocol. */
class Browser {
  #child: Deno.ChildProcess;
  #dir: string;
  #socket: WebSocket | undefined = undefined;
  #next = 1;
  #draining: Promise<void> = Promise.resolve();
  #waiting = new Map<number, (reply: { result?: unknown; error?: unknown }) => void>();

  private constructor(child: Deno.ChildProcess, dir: string) {
    this.#child = child;
    this.#dir = dir;
  }

  static async launch(binary: string): Promise<Browser> {
    const dir = await Deno.makeTempDir({ prefix: "curio_chromium_" });
    const child = new Deno.Command(binary, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--remote-debugging-port=0",
        `--user-data-dir=${dir}`,
        "about:blank",
      ],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const browser = new Browser(child, dir);
    try {
      await browser.#connect();
    } catch (error) {
      await browser.close();
      throw error;
    }
    return browser;
  }

  async #connect(): Promise<void> {
    // Chromium says where its DevTools endpoint is on stderr.
    const reader = this.#child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let said = "";
    let port: string | undefined;
    while (port === undefined) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`chromium exited before listening:\n${said}`);
      said += value;
      port = /DevTools listening on ws:\/\/127\.0\.0\.1:(\d+)\//.exec(said)?.[1];
    }
    // Keep draining stderr so chromium never blocks on it; close() awaits the end.
    this.#draining = (async () => {
      while (!(await reader.read()).done) { /* discard */ }
    })().catch(() => {});
    const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json() as Array<
      { type: string; webSocketDebuggerUrl: string }
    >;
    const target = targets.find((t) => t.type === "page");
    if (target === undefined) throw new Error("chromium has no page open");
    const socket = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = () => reject(new Error("cannot connect to chromium's DevTools"));
    });
    socket.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.id !== undefined) this.#waiting.get(msg.id)?.(msg);
    };
    this.#socket = socket;
  }

  async send(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.#next++;
    const reply = await new Promise<{ result?: unknown; error?: unknown }>((resolve) => {
      this.#waiting.set(id, resolve);
      this.#socket!.send(JSON.stringify({ id, method, params }));
    });
    this.#waiting.delete(id);
    if (reply.error !== undefined) throw new Error(`${method}: ${JSON.stringify(reply.error)}`);
    return reply.result;
  }

  /** Evaluates `expression` in the page and returns its (JSON) value. */
  async evaluate<T>(expression: string): Promise<T> {
    const result = await this.send("Runtime.evaluate", { expression, returnByValue: true }) as {
      result: { value: T };
    };
    return result.result.value;
  }

  /** Evaluates `expression` every 50 ms until `ok` accepts its value. */
  async until<T>(expression: string, ok: (value: T) => boolean): Promise<T> {
    for (;;) {
      const value = await this.evaluate<T>(expression);
      if (ok(value)) return value;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async close(): Promise<void> {
    const socket = this.#socket;
    if (socket !== undefined && socket.readyState === WebSocket.OPEN) {
      const closed = new Promise((resolve) => socket.onclose = resolve);
      socket.close();
      await closed;
    }
    try {
      this.#child.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.#child.status;
    await this.#draining;
    await Deno.remove(this.#dir, { recursive: true }).catch(() => {});
  }
}

const ROWS = `[...document.querySelectorAll("#tasks tr")].map((tr) => tr.innerText)`;

async function waitingForTheBrowser(): Promise<void> {
  await sleep(1000);
}

Deno.test({
  name: "web page in headless chromium shows the running tasks and its Cancel button cancels one",
  ignore: chromium === undefined,
  async fn() {
    let web = "";
    await run(async () => {
      const alpha = await spawn(waitingForTheBrowser, { daemon: true, name: "alpha" });
      const beta = await spawn(waitingForTheBrowser, { daemon: true, name: "beta" });
      const browser = await Browser.launch(chromium!);
      try {
        await timeoutAfter(30, async () => {
          await browser.send("Page.navigate", { url: web });
          const rows = await browser.until<string[]>(
            ROWS,
            (rows) => rows.some((r) => r.includes("alpha")) && rows.some((r) => r.includes("beta")),
          );
          for (const task of [alpha, beta]) {
            const row = rows.find((r) => r.split("\t")[0] === String(task.id));
            assert(row !== undefined, `no row for task ${task.id} in ${JSON.stringify(rows)}`);
            assert.match(
              row,
              new RegExp(`^${task.id}\\t${task.parentId}\\t${task.name} daemon\\tTIME_SLEEP\\t`),
            );
          }
          const clicked = await browser.evaluate<boolean>(
            `(() => {
              const button = document.querySelector('tr[data-id="${alpha.id}"] button.cancel');
              if (!button) return false;
              button.click();
              return true;
            })()`,
          );
          assert.equal(clicked, true, "the row has a Cancel button");
          await alpha.wait();
          assert.equal(alpha.cancelled, true, "the button cancelled the task");
          assert.equal(beta.terminated, false, "and only that one");
          const message = await browser.until<string>(
            `document.getElementById("message").innerText`,
            (text) => text.endsWith("cancelled"),
          );
          assert.equal(message, `task ${alpha.id} (alpha) cancelled`);
          await browser.until<string[]>(ROWS, (rows) => !rows.some((r) => r.includes("alpha")));
        });
      } finally {
        await browser.close();
      }
      await beta.cancel();
    }, { withMonitor: { port: 0, web: true, onListen: (info) => web = info.web ?? "" } });
  },
});
