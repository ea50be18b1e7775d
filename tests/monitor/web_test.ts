import assert from "node:assert/strict";
import { run, sleep, spawn, type Task } from "@curio/curio";
import { Program } from "./_program.ts";

/** Runs `body` with the page's address, in a kernel whose monitor serves the web page. */
async function withPage(body: (page: URL) => Promise<void>): Promise<void> {
  let web = "";
  await run(async () => {
    await body(new URL(web));
  }, { withMonitor: { port: 0, web: true, onListen: (info) => web = info.web ?? "" } });
}

/** One HTTP/1.1 request over a raw socket, so the Host header can be anything. */
async function rawRequest(port: number, head: string): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const bytes = new TextEncoder().encode(head + "Connection: close\r\n\r\n");
    for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
    return await new Response(conn.readable).text();
  } catch (error) {
    conn.close();
    throw error;
  }
}

/** Reads server-sent events until `until` returns true for one. */
async function readEvents(
  res: Response,
  until: (event: string, data: unknown) => boolean,
): Promise<Array<[string, unknown]>> {
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const seen: Array<[string, unknown]> = [];
  let buffer = "";
  try {
    for (;;) {
      const end = buffer.indexOf("\n\n");
      if (end === -1) {
        const { value, done } = await reader.read();
        if (done) return seen;
        buffer += value;
        continue;
      }
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)![1]!;
      const data = JSON.parse(/^data: (.*)$/m.exec(block)![1]!);
      seen.push([event, data]);
      if (until(event, data)) return seen;
    }
  } finally {
    await reader.cancel();
  }
}

interface Row {
  id: number;
  name: string;
  state: string;
  parent?: number;
}

Deno.test("web page answers only with a loopback Host header (no DNS rebinding)", async () => {
  await withPage(async (page) => {
    const port = Number(page.port);
    const path = `${page.pathname}${page.search}`;
    for (const host of [`evil.example:${port}`, "127.0.0.1", `127.0.0.1:${port + 1}`, ""]) {
      const reply = await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n`);
      assert.match(reply, /^HTTP\/1\.1 (403|400) /, `Host: ${host}`);
      assert(!reply.includes("<title>"), `no page for Host: ${host}`);
    }
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`]) {
      const reply = await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n`);
      assert.match(reply, /^HTTP\/1\.1 200 /, `Host: ${host}`);
    }
  });
});

Deno.test("web page needs the per-run token for the page, the events, stacks and cancel", async () => {
  await withPage(async (page) => {
    const t = await spawn(() => sleep(1000), { name: "guarded", daemon: true });
    const base = `http://127.0.0.1:${page.port}`;
    const token = page.searchParams.get("token")!;
    const denied = [
      fetch(`${base}/`),
      fetch(`${base}/?token=${"0".repeat(32)}`),
      fetch(`${base}/events`),
      fetch(`${base}/stack?id=${t.id}`),
      fetch(`${base}/cancel?id=${t.id}&token=${token}`, { method: "POST" }), // not in a header
      fetch(`${base}/cancel?id=${t.id}`, {
        method: "POST",
        headers: { "x-curio-token": "wrong" },
      }),
    ];
    for (const res of await Promise.all(denied)) {
      assert.equal(res.status, 403, res.url);
      assert.match(await res.text(), /^forbidden: /);
    }
    assert.equal(t.terminated, false, "nothing was cancelled");
    const ok = await fetch(page);
    assert.equal(ok.status, 200);
    assert.match(ok.headers.get("content-security-policy")!, /default-src 'none'/);
    const html = await ok.text();
    assert.match(html, /<table>/);
    assert(!/(src|href)=["']?https?:/.test(html), "nothing fetched from elsewhere");
    const crossSite = await fetch(`${base}/cancel?id=${t.id}`, {
      method: "POST",
      headers: { "x-curio-token": token, origin: "http://evil.example" },
    });
    assert.equal(crossSite.status, 403);
    await crossSite.text();
    assert.equal(t.terminated, false);
  });
});

Deno.test("web events send the task table, then the changes as they happen", async () => {
  await withPage(async (page) => {
    const first = await spawn(() => sleep(1000), { name: "first", daemon: true });
    const base = `http://127.0.0.1:${page.port}`;
    const token = page.searchParams.get("token")!;
    const res = await fetch(`${base}/events?token=${token}`);
    assert.match(res.headers.get("content-type")!, /^text\/event-stream/);
    let second: Task | undefined;
    const events = await readEvents(res, (event, data) => {
      if (event === "table") {
        const rows = (data as { rows: Row[] }).rows;
        const row = rows.find((r) => r.id === first.id);
        assert.deepEqual(
          row && { name: row.name, state: row.state, parent: row.parent },
          { name: "first", state: "TIME_SLEEP", parent: first.parentId },
        );
        // A task spawned now reaches the page in a later update.
        spawn(() => sleep(1000), { name: "second", daemon: true }).then((t) => second = t);
        return false;
      }
      return event === "update" &&
        (data as { rows: Row[] }).rows.some((r) => r.name === "second");
    });
    assert.equal(events[0]![0], "table");
    assert(events.some(([e]) => e === "status"), "the page learns whether the kernel responds");
    assert(second !== undefined);
    await first.cancel();
    await second.cancel();
  });
});

async function parkedForTheWebPage(): Promise<void> {
  await sleep(1000);
}

Deno.test("web stack and cancel: where a task waits, and cancelling it", async () => {
  await withPage(async (page) => {
    const t = await spawn(parkedForTheWebPage, { daemon: true });
    const base = `http://127.0.0.1:${page.port}`;
    const token = page.searchParams.get("token")!;
    const stack = await fetch(`${base}/stack?id=${t.id}&token=${token}`);
    assert.equal(stack.status, 200);
    assert.match(await stack.text(), /TIME_SLEEP, blocked at:\n.*\n\s+at parkedForTheWebPage /);
    const cancel = await fetch(`${base}/cancel?id=${t.id}`, {
      method: "POST",
      headers: { "x-curio-token": token },
    });
    assert.equal(await cancel.text(), `task ${t.id} (parkedForTheWebPage) cancelled\n`);
    assert.equal(t.cancelled, true);
    const again = await fetch(`${base}/cancel?id=${t.id}`, {
      method: "POST",
      headers: { "x-curio-token": token },
    });
    assert.equal(again.status, 404);
    assert.equal(await again.text(), `no task with id ${t.id}\n`);
  });
});

Deno.test("web events tell the page when the kernel stops responding, and which task runs", async () => {
  const program = new Program("stuck_program.ts", ["3", "--web"]);
  try {
    await program.line(); // port N
    const web = /^web (.*)$/.exec(await program.line())![1]!;
    const page = new URL(web);
    const res = await fetch(`${page.origin}/events?token=${page.searchParams.get("token")}`);
    assert.equal(await program.line(), "spinning");
    const events = await readEvents(
      res,
      (event, data) => event === "status" && (data as { stalled: number }).stalled > 0,
    );
    const [, status] = events.at(-1)!;
    const report = (status as { report: string[] }).report;
    assert.match(report[0]!, /^! the kernel has not responded for \d+\.\ds \(since /);
    assert.match(report[1]!, /^! running: task \d+ \(spinner\), which last blocked at:$/);
  } finally {
    const { code, stderr } = await program.finish();
    assert.equal(code, 0, stderr);
  }
});
