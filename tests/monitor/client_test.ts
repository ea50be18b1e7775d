import assert from "node:assert/strict";
import { Kernel, type KernelOptions, run, spawn } from "@curio/curio";
import { _getKernel, _rescheduleTasks, _waitOnQueue, KernelQueue } from "@curio/curio/traps";

const monitored: KernelOptions = { withMonitor: { port: 0, onListen: () => {} } };

async function parkedInWhereTest(kq: KernelQueue): Promise<unknown> {
  return await _waitOnQueue(kq, "EVENT_WAIT");
}

// The command-line client, monitor/client.ts (`deno task monitor`), run as a subprocess.

const clientPath = new URL("../../monitor/client.ts", import.meta.url).pathname;

async function runClient(
  args: string[],
  input: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", clientPath, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  const out = await child.output();
  const decoder = new TextDecoder();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

Deno.test("monitor.ts reads commands from stdin, prints the replies and exits at EOF", async () => {
  await run(async () => {
    const kq = new KernelQueue();
    const t = await spawn(() => parkedInWhereTest(kq), { name: "scripted", daemon: true });
    const [host, port] = (await _getKernel()).monitorAddress!;
    const result = await runClient(
      ["--host", host, `--port=${port}`],
      `ps\nwhere ${t.id}\nbogus\n`,
    );
    assert.equal(result.stderr, "");
    assert.equal(result.code, 0);
    const lines = result.stdout.split("\n");
    assert.match(lines[0]!, /^\s*ID\s+PARENT\s+STATE/);
    assert(
      lines.some((l) =>
        new RegExp(`^\\s*${t.id}\\s+\\d+\\s+EVENT_WAIT\\s.*scripted \\(daemon\\)$`).test(l)
      ),
    );
    assert.match(result.stdout, /at parkedInWhereTest /);
    assert.match(result.stdout, /\nerror: unknown command "bogus"; type help\n$/);
    assert(!result.stdout.includes("curio >"), "no prompts in scripted output");
    await _rescheduleTasks(kq, 1);
    await t.join();
  }, monitored);
});

Deno.test("monitor.ts stops at quit and exits 0", async () => {
  await run(async () => {
    const [, port] = (await _getKernel()).monitorAddress!;
    const result = await runClient(["--port", String(port)], "quit\nps\n");
    assert.equal(result.code, 0);
    assert.equal(result.stdout, "bye\n");
  }, monitored);
});

Deno.test("monitor.ts exits 1 when nothing listens and 2 on bad arguments", async () => {
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = closed.addr.port;
  closed.close();
  const refused = await runClient(["--port", String(port)], "ps\n");
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, new RegExp(`^monitor: Cannot connect to 127\\.0\\.0\\.1:${port}: `));
  assert.match(refused.stderr, /is a program running with withMonitor\?\n$/);
  const bad = await runClient(["--port", "http"], "");
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^monitor: --port must be a number from 1 to 65535, received http\n/);
  const unknown = await runClient(["--verbose"], "");
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^monitor: unknown argument --verbose\nusage: /);
});

Deno.test("monitor client notices the program's exit at once, even while waiting for input", async () => {
  const kernel = new Kernel(monitored);
  let child: Deno.ChildProcess | undefined;
  let port = 0;
  const decoder = new TextDecoder();
  let stdout = "";
  try {
    await kernel.run(async () => {
      port = kernel.monitorAddress![1];
      child = new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-net", clientPath, "--port", String(port)],
        stdin: "piped",
        stdout: "piped",
        stderr: "null",
        env: { NO_COLOR: "1" },
      }).spawn();
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode("ps\n"));
      writer.releaseLock(); // stdin stays open: the client waits for the next command
    });
    const reader = child!.stdout.getReader();
    while (!/ID\s+PARENT\s+STATE.*\n/.test(stdout)) {
      const { value, done } = await reader.read();
      if (done) break;
      stdout += decoder.decode(value, { stream: true });
    }
    await kernel[Symbol.asyncDispose](); // the program ends; the client still has stdin open
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      stdout += decoder.decode(value, { stream: true });
    }
    const { code } = await child!.status;
    assert.equal(code, 0);
    assert.match(
      stdout,
      new RegExp(
        "\ncurio monitor: the program is exiting; bye\n" +
          `monitor: the program at 127\\.0\\.0\\.1:${port} closed the monitor \\(it has exited\\)\n$`,
      ),
    );
  } finally {
    await child?.stdin.close().catch(() => {});
    await kernel[Symbol.asyncDispose]();
  }
});

Deno.test("monitor client --web prints the web page's address with its token", async () => {
  await run(async () => {
    const [, port] = (await _getKernel()).monitorAddress!;
    const result = await runClient(["--port", String(port), "--web"], "");
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^web page: http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{32}\n$/);
  }, monitored);
});
