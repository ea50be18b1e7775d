// An unhandled rejection of a promise made inside a task still ends the
// program as Deno does (exit 1, "Uncaught (in promise)"), and a line before
// Deno's report names the task. Each case runs in a child process of its own,
// since an unhandled rejection ends the process that has it.

import assert from "node:assert/strict";

const mod = new URL("../../mod.ts", import.meta.url).href;

/** Runs `body` (a module body importing curio as `c`) in a fresh deno; returns code and stderr. */
async function runScript(body: string): Promise<{ code: number; stderr: string }> {
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, `import * as c from ${JSON.stringify(mod)};\n${body}`);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", "--no-check", file],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
      signal: AbortSignal.timeout(60_000),
    }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  } finally {
    await Deno.remove(file);
  }
}

function curioLines(stderr: string): string[] {
  return stderr.split("\n").filter((line) => line.startsWith("curio:"));
}

Deno.test("an unhandled rejection from an un-awaited async call in a task names the task; exit code stays 1", async () => {
  const { code, stderr } = await runScript(`
    await c.run(async () => {
      const t = await c.spawn(async () => {
        (async () => {
          await c.sleep(0.01);
          throw new RangeError("nobody awaits me");
        })();
        await c.sleep(5);
      }, { name: "fetcher" });
      await t.join();
    });`);
  assert.equal(code, 1, `Deno's outcome changed; stderr:\n${stderr}`);
  assert.match(stderr, /Uncaught \(in promise\) RangeError: nobody awaits me/);
  const lines = curioLines(stderr);
  assert.equal(lines.length, 1, `expected one curio line, stderr:\n${stderr}`);
  assert.match(lines[0]!, /^curio: unhandled promise rejection in task \d+ "fetcher" /);
  assert(
    stderr.indexOf(lines[0]!) < stderr.indexOf("Uncaught"),
    "the curio line comes before Deno's report",
  );
});

Deno.test("an unhandled rejection of a promise a task's timer rejects names the task, with its id", async () => {
  const { code, stderr } = await runScript(`
    await c.run(async () => {
      const t = await c.spawn(async () => {
        console.error("id=" + (await c.currentTask()).id);
        new Promise((_, reject) => setTimeout(() => reject(new Error("late")), 10));
        await c.sleep(5);
      }, { name: "poller" });
      await t.join();
    });`);
  assert.equal(code, 1, stderr);
  const id = /id=(\d+)/.exec(stderr)?.[1];
  assert(id !== undefined, `the task did not print its id; stderr:\n${stderr}`);
  assert.match(
    curioLines(stderr)[0] ?? "",
    new RegExp(`^curio: unhandled promise rejection in task ${id} "poller" `),
  );
  assert.match(stderr, /Uncaught \(in promise\) Error: late/);
});

Deno.test("an unhandled rejection outside any task, or one a listener handles, gets no curio line", async () => {
  const outside = await runScript(`
    await c.run(async () => {});
    Promise.reject(new Error("not from a task"));`);
  assert.equal(outside.code, 1, outside.stderr);
  assert.deepEqual(curioLines(outside.stderr), [], outside.stderr);

  const handled = await runScript(`
    globalThis.addEventListener("unhandledrejection", (e) => {
      e.preventDefault();
      console.error("handled: " + e.reason.message);
    });
    await c.run(async () => {
      Promise.reject(new Error("caught by the listener"));
      await c.sleep(0.05);
    });`);
  assert.equal(handled.code, 0, handled.stderr);
  assert.match(handled.stderr, /handled: caught by the listener/);
  assert.deepEqual(curioLines(handled.stderr), [], handled.stderr);
});
