import assert from "node:assert/strict";
import { run, sleep, spawn } from "@curio/curio";
import { _getKernel } from "@curio/curio/traps";
import { connectMonitor, type MonitorClient } from "@curio/curio/monitor";
import { Program } from "./_program.ts";

Deno.test("monitor answers ps within 1.5 s while the program spins in a 3 s synchronous loop", async () => {
  const program = new Program("stuck_program.ts", ["3"]);
  let monitor: MonitorClient | undefined;
  try {
    const port = Number(/^port (\d+)$/.exec(await program.line())![1]);
    monitor = await connectMonitor({ port });
    assert.equal(await program.line(), "spinning");
    const asked = performance.now();
    const ps = await monitor.command("ps");
    const took = performance.now() - asked;
    // The one timing bound of the monitor's issue: generous on a loaded machine.
    assert(took < 1500, `ps took ${took.toFixed(0)} ms while the kernel was stuck`);
    assert.match(
      ps,
      /^! the kernel has not responded for \d+\.\ds \(since \d{4}-\d\d-\d\dT[\d:.]+Z\): its thread is busy in synchronous code\n/,
    );
    assert.match(ps, /\n! running: task \d+ \(spinner\), which last blocked at:\n/);
    assert.match(ps, /\n! {3}at busyLoop \(.*stuck_program\.ts:\d+:\d+\)\n/);
    assert.match(
      ps,
      /\n! the table below is as the kernel last reported it\n\s*ID\s+PARENT\s+STATE\s+CYCLES\s+TIME\s+NAME\n/,
    );
    assert.match(ps, /\s+spinner$/m, "the table, from the last snapshot");
    const id = /task (\d+) \(spinner\)/.exec(ps)![1];
    const where = await monitor.command(`w ${id}`);
    assert.match(where, /^! the kernel has not responded for/);
    assert.match(where, new RegExp(`\ntask ${id} \\(spinner\\) TIME_SLEEP at the last snapshot`));
    const cancel = await monitor.command(`c ${id}`);
    assert.match(
      cancel,
      new RegExp(
        `\nnot yet: the kernel has not responded for \\d+\\.\\ds, so it cannot cancel task ${id} now; ` +
          "the request is queued and runs when the kernel responds again$",
      ),
    );
    assert.match(await monitor.command("s winch"), /\nnot yet: .* cannot send SIGWINCH now; /);
    // When the loop ends the kernel answers again, and then exits.
    assert.match(await monitor.whenClosed(), /the program is exiting; bye$/);
  } finally {
    await monitor?.close();
    const { code, stderr } = await program.finish();
    assert.equal(code, 0, stderr);
  }
});

Deno.test("monitor with port 0 and no onListen prints its address to stderr once", async () => {
  const program = new Program("port_zero_program.ts");
  assert.equal(await program.line(), "ready");
  const { code, stderr } = await program.finish();
  assert.equal(code, 0, stderr);
  const lines = stderr.split("\n").filter((l) => l !== "");
  assert.equal(lines.length, 1, stderr);
  assert.match(
    lines[0]!,
    /^curio monitor: listening on 127\.0\.0\.1:(\d+) \(connect: deno task monitor --port \1\)$/,
  );
});

Deno.test("monitor with web: true prints the page's address and token, needing only --allow-net", async () => {
  const program = new Program("port_zero_program.ts", ["--web"]);
  assert.equal(await program.line(), "ready");
  const { code, stderr } = await program.finish();
  assert.equal(code, 0, stderr);
  assert.match(
    stderr,
    /\ncurio monitor: web page at http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{32}\n$/,
  );
});

Deno.test("withMonitor onListen receives the address instead of a printed line", async () => {
  const seen: unknown[] = [];
  await run(async () => {
    const [host, port] = (await _getKernel()).monitorAddress!;
    assert.deepEqual(seen, [{ host, port }], "called once, before main runs");
  }, { withMonitor: { port: 0, onListen: (info) => seen.push(info) } });
  assert.equal(seen.length, 1);
});

Deno.test("withMonitor onListen with web: true receives the page's address", async () => {
  let web = "";
  await run(async () => {
    assert.match(web, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]{32}$/);
    const res = await fetch(web);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /<title>curio monitor<\/title>/);
  }, { withMonitor: { port: 0, web: true, onListen: (info) => web = info.web ?? "" } });
});

Deno.test("withMonitor rejects a bad web or onListen option when the kernel is made", async () => {
  await assert.rejects(
    run(async () => {}, { withMonitor: { web: "yes" as never } }),
    {
      name: "TypeError",
      message: "Cannot configure the monitor: web must be a boolean, received string",
    },
  );
  await assert.rejects(
    run(async () => {}, { withMonitor: { onListen: 1 as never } }),
    {
      name: "TypeError",
      message: "Cannot configure the monitor: onListen must be a function, received number",
    },
  );
});

Deno.test("monitor snapshots follow the table: a task that ends leaves ps, a new one appears", async () => {
  await run(async () => {
    await using monitor = await connectMonitor({
      port: (await _getKernel()).monitorAddress![1],
    });
    const before = await monitor.command("ps");
    const t = await spawn(() => sleep(1000), { name: "newcomer", daemon: true });
    assert(!before.includes("newcomer"));
    assert.match(
      await monitor.command("ps"),
      new RegExp(`^\\s*${t.id}\\s.*newcomer \\(daemon\\)$`, "m"),
    );
    await t.cancel();
    assert(!(await monitor.command("ps")).includes("newcomer"), "gone once it ended");
  }, { withMonitor: { port: 0, onListen: () => {} } });
});
