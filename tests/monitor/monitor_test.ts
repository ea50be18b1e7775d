import assert from "node:assert/strict";
import {
  CancelledError,
  CurioError,
  Kernel,
  type KernelOptions,
  MockClock,
  run,
  sleep,
  spawn,
} from "@curio/curio";
import { _getKernel, _rescheduleTasks, _waitOnQueue, KernelQueue } from "@curio/curio/traps";
import { connectMonitor, type MonitorClient } from "@curio/curio/monitor";
import { MONITOR_MAX_CLIENTS, monitorConfig } from "../../kernel/monitor.ts";

const monitored: KernelOptions = { withMonitor: { port: 0 } };

/** Connects to the monitor of the kernel running the calling task. */
async function connect(): Promise<MonitorClient> {
  const [host, port] = (await _getKernel()).monitorAddress!;
  return await connectMonitor({ host, port });
}

/** Reads everything the peer sends until it closes the connection. */
async function readToEnd(conn: Deno.Conn): Promise<string> {
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(8192);
  for (;;) {
    let n: number | null;
    try {
      n = await conn.read(buf);
    } catch (error) {
      if (error instanceof Deno.errors.ConnectionReset) break;
      throw error;
    }
    if (n === null) break;
    chunks.push(buf.slice(0, n));
  }
  const all = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    all.set(c, off);
    off += c.length;
  }
  return new TextDecoder().decode(all);
}

async function parkedInWhereTest(kq: KernelQueue): Promise<unknown> {
  return await _waitOnQueue(kq, "EVENT_WAIT");
}

Deno.test("monitor ps shows a named task in EVENT_WAIT with its id", async () => {
  await run(async () => {
    const kq = new KernelQueue();
    const t = await spawn(() => _waitOnQueue(kq, "EVENT_WAIT"), { name: "waiter", daemon: true });
    await using monitor = await connect();
    assert.match(monitor.greeting, /^curio monitor: \d+ tasks; type help for commands$/);
    const ps = (await monitor.command("ps")).split("\n");
    assert.match(ps[0]!, /^\s*ID\s+STATE\s+CYCLES\s+TIME\s+NAME$/);
    const row = ps.find((line) => line.endsWith(" waiter (daemon)"));
    assert(row !== undefined, `no row for the waiter in:\n${ps.join("\n")}`);
    assert.match(
      row,
      new RegExp(`^\\s*${t.id}\\s+EVENT_WAIT\\s+\\d+\\s+\\d+\\.\\ds\\s+waiter \\(daemon\\)$`),
    );
    assert(
      ps.some((line) => /\scurio\.monitor \(daemon\)$/.test(line)),
      "the monitor lists itself",
    );
    await _rescheduleTasks(kq, 1);
    await t.join();
    assert(!(await monitor.command("ps")).includes("waiter"), "a finished task leaves ps");
  }, monitored);
});

Deno.test("monitor ps shows how long a task has been in its state, on the kernel clock", async () => {
  const clock = new MockClock();
  await run(async () => {
    const t = await spawn(() => sleep(1000), { name: "sleeper", daemon: true });
    clock.jump(7.5);
    await using monitor = await connect();
    const row = (await monitor.command("ps")).split("\n").find((l) =>
      l.endsWith(" sleeper (daemon)")
    );
    assert.match(
      row!,
      new RegExp(`^\\s*${t.id}\\s+TIME_SLEEP\\s+\\d+\\s+7\\.5s\\s+sleeper \\(daemon\\)$`),
    );
    await t.cancel();
  }, { ...monitored, clock });
});

Deno.test("monitor where shows the stack of the await a task is blocked on", async () => {
  await run(async () => {
    const kq = new KernelQueue();
    const t = await spawn(() => parkedInWhereTest(kq), { name: "parked", daemon: true });
    await using monitor = await connect();
    const where = await monitor.command(`where ${t.id}`);
    assert.match(where, new RegExp(`^task ${t.id} \\(parked\\) EVENT_WAIT, blocked at:\n`));
    assert.match(where, /at parkedInWhereTest \(.*monitor_test\.ts:\d+:\d+\)/);
    assert.match(where, /at _waitOnQueue /);
    assert(!where.includes("_core.ts"), "kernel internals are left out");
    await _rescheduleTasks(kq, 1, "done");
    assert.equal(await t.join(), "done");
  }, monitored);
});

Deno.test("monitor cancel ID cancels the task, which sees CancelledError", async () => {
  await run(async () => {
    const kq = new KernelQueue();
    const seen: unknown[] = [];
    const t = await spawn(async () => {
      try {
        await _waitOnQueue(kq, "EVENT_WAIT");
      } catch (error) {
        seen.push(error);
        throw error;
      }
    }, { name: "victim", daemon: true });
    await using monitor = await connect();
    assert.equal(await monitor.command(`cancel ${t.id}`), `task ${t.id} (victim) cancelled`);
    assert.equal(seen.length, 1);
    assert(seen[0] instanceof CancelledError);
    assert.equal(t.cancelled, true);
    assert.equal(kq.length, 0, "the cancelled waiter left the queue");
    assert.equal(await monitor.command(`cancel ${t.id}`), `error: no task with id ${t.id}`);
  }, monitored);
});

Deno.test("monitor answers bad commands and unknown ids with one error line and goes on", async () => {
  await run(async () => {
    await using monitor = await connect();
    const serverId = /^\s*(\d+)\s.*curio\.monitor \(daemon\)$/m.exec(await monitor.command("ps"))!;
    const cases: Array<[string, RegExp]> = [
      ["bogus", /^error: unknown command "bogus"; type help$/],
      ["where", /^error: usage: where ID \(a task id from ps\)$/],
      ["where abc", /^error: usage: where ID/],
      ["where 1 2", /^error: usage: where ID/],
      ["where 99999999", /^error: no task with id 99999999$/],
      ["cancel -1", /^error: usage: cancel ID/],
      ["cancel 99999999", /^error: no task with id 99999999$/],
      [`cancel ${serverId[1]}`, /^error: task \d+ is part of the monitor; use quit to disconnect$/],
      ["signal", /^error: usage: signal NAME/],
      ["signal NOPE", /^error: cannot send SIGNOPE: /],
      ["x".repeat(100), /^error: unknown command "x{40}\.\.\."; type help$/],
    ];
    for (const [command, expected] of cases) {
      const reply = await monitor.command(command);
      assert.match(reply, expected, command);
      assert(!reply.includes("\n"), `one line for ${command}`);
    }
    assert.equal(await monitor.command(""), "");
    assert.match(await monitor.command("HELP"), /^commands:\n {2}ps/);
    assert.match(await monitor.command("ps"), /curio\.monitor/);
    assert.equal(monitor.closed, false);
  }, monitored);
});

Deno.test("monitor escapes control characters in task names", async () => {
  await run(async () => {
    const t = await spawn(() => sleep(1000), { name: "evil\ncurio > \x1b[2J", daemon: true });
    await using monitor = await connect();
    const ps = await monitor.command("ps");
    assert(ps.split("\n").some((l) => l.endsWith(" evil\\x0acurio > \\x1b[2J (daemon)")), ps);
    assert.match(
      await monitor.command(`where ${t.id}`),
      /^task \d+ \(evil\\x0acurio > \\x1b\[2J\)/,
    );
    assert.equal(monitor.closed, false);
  }, monitored);
});

Deno.test("monitor quit says bye and closes only that connection", async () => {
  await run(async () => {
    await using monitor = await connect();
    assert.equal(await monitor.command("quit"), "bye");
    assert.equal(monitor.closed, true);
    await assert.rejects(monitor.command("ps"), Deno.errors.BadResource);
    await using again = await connect();
    assert.match(await again.command("ps"), /curio\.monitor/);
  }, monitored);
});

Deno.test("monitor serves two clients at once", async () => {
  await run(async () => {
    await using a = await connect();
    await using b = await connect();
    const [psA, psB, helpB] = await Promise.all([
      a.command("ps"),
      b.command("ps"),
      b.command("help"),
    ]);
    for (const ps of [psA, psB]) {
      assert.equal(
        ps.split("\n").filter((l) => l.endsWith("curio.monitor.client (daemon)")).length,
        2,
      );
    }
    assert.match(helpB, /^commands:/);
    assert.equal(await a.command("quit"), "bye");
    assert.match(await b.command("ps"), /curio\.monitor/);
  }, monitored);
});

Deno.test("monitor turns away clients beyond the limit", async () => {
  await run(async () => {
    const clients: MonitorClient[] = [];
    try {
      for (let i = 0; i < MONITOR_MAX_CLIENTS; i++) clients.push(await connect());
      const extra = await connect();
      clients.push(extra);
      assert.match(extra.greeting, /^error: too many monitor clients \(limit 8\)/);
      assert.equal(extra.closed, true);
      assert.equal(await clients[0]!.command("quit"), "bye");
      const late = await connect();
      clients.push(late);
      assert.equal(late.closed, false, "a freed slot can be used again");
    } finally {
      for (const client of clients) await client.close();
    }
  }, monitored);
});

Deno.test("monitor cuts off a line longer than 4 KiB and the kernel goes on", async () => {
  const trace: string[] = [];
  await run(async () => {
    const [hostname, port] = (await _getKernel()).monitorAddress!;
    const worker = await spawn(async () => {
      for (let i = 0; i < 3; i++) await sleep(0);
      trace.push("worker done");
    });
    const conn = await Deno.connect({ hostname, port });
    try {
      await conn.write(new TextEncoder().encode("ps " + "a".repeat(5000)));
      const said = await readToEnd(conn);
      assert.match(said, /error: line longer than 4096 bytes; closing the connection\n$/);
    } finally {
      conn.close();
    }
    await worker.join();
    await using monitor = await connect();
    assert.match(await monitor.command("ps"), /curio\.monitor/);
    trace.push("main done");
  }, monitored);
  assert.deepEqual(trace, ["worker done", "main done"]);
});

Deno.test("monitor accepts a line of exactly 4096 bytes", async () => {
  await run(async () => {
    await using monitor = await connect();
    const reply = await monitor.command("where " + "1".repeat(4090));
    assert.match(reply, /^error: no task with id 1{40}\.\.\.$/);
  }, monitored);
});

Deno.test("monitor cuts off a client that floods it with commands", async () => {
  await run(async () => {
    const [hostname, port] = (await _getKernel()).monitorAddress!;
    const conn = await Deno.connect({ hostname, port });
    try {
      const flood = new TextEncoder().encode("x\n".repeat(3000));
      for (let off = 0; off < flood.length;) off += await conn.write(flood.subarray(off));
      const said = await readToEnd(conn);
      assert.match(said, /error: too many commands too fast; closing the connection\n$/);
      const answered = said.split("\n").filter((l) => l.includes("unknown command")).length;
      assert(answered >= 1000 && answered < 3000, `answered ${answered} commands`);
    } finally {
      conn.close();
    }
    await using monitor = await connect();
    assert.match(await monitor.command("ps"), /curio\.monitor/);
  }, monitored);
});

Deno.test("monitor signal NAME sends the signal to this process", async () => {
  // SIGPWR: test files run in one process under --parallel, and no other test
  // listens for it (SIGUSR1, SIGHUP, SIGWINCH, SIGURG are taken).
  let received = 0;
  const handler = (): void => {
    received++;
  };
  Deno.addSignalListener("SIGPWR", handler);
  try {
    await run(async () => {
      await using monitor = await connect();
      assert.equal(await monitor.command("signal pwr"), `sent SIGPWR to process ${Deno.pid}`);
      for (let i = 0; i < 200 && received === 0; i++) await sleep(0.005);
    }, monitored);
  } finally {
    Deno.removeSignalListener("SIGPWR", handler);
  }
  assert.equal(received, 1);
});

Deno.test("monitor is gone once run() returns: port closed, clients disconnected", async () => {
  const kernel = new Kernel(monitored);
  let address: [string, number] | undefined;
  let conn: Deno.TcpConn | undefined;
  try {
    await kernel.run(async () => {
      address = kernel.monitorAddress;
      conn = await Deno.connect({ hostname: address![0], port: address![1] });
      await conn.read(new Uint8Array(100)); // the greeting
      await spawn(() => sleep(1000), { daemon: true, name: "background" });
    }, { shutdown: true });
    assert.equal(kernel.monitorAddress, undefined);
    assert.equal(await readToEnd(conn!), "", "the server side was closed at shutdown");
  } finally {
    conn?.close();
  }
  await assert.rejects(
    Deno.connect({ hostname: address![0], port: address![1] }),
    Deno.errors.ConnectionRefused,
  );
});

Deno.test("monitor keeps running between runs of the same kernel until shutdown", async () => {
  const kernel = new Kernel(monitored);
  const first = await kernel.run(async () => kernel.monitorAddress);
  const second = await kernel.run(async () => {
    await using monitor = await connect();
    assert.match(await monitor.command("ps"), /curio\.monitor/);
    return kernel.monitorAddress;
  });
  assert.deepEqual(second, first, "one monitor per kernel, not one per run");
  await kernel[Symbol.asyncDispose]();
  assert.equal(kernel.monitorAddress, undefined);
});

Deno.test("withMonitor binds to 127.0.0.1 unless host says otherwise", async () => {
  const [host, port] = await run(async () => (await _getKernel()).monitorAddress!, monitored);
  assert.equal(host, "127.0.0.1");
  assert(port > 0);
  const [v6] = await run(
    async () => (await _getKernel()).monitorAddress!,
    { withMonitor: { host: "::1", port: 0 } },
  );
  assert.equal(v6, "::1");
  assert.deepEqual(monitorConfig(true), { host: "127.0.0.1", port: 48802 });
  assert.deepEqual(monitorConfig({}), { host: "127.0.0.1", port: 48802 });
  assert.equal(monitorConfig(false), undefined);
  assert.equal(await run(async () => (await _getKernel()).monitorAddress), undefined);
});

Deno.test("withMonitor rejects bad options when the kernel is made", () => {
  assert.throws(() => new Kernel({ withMonitor: { port: 70000 } }), {
    name: "RangeError",
    message:
      "Cannot configure the monitor: port must be an integer from 0 to 65535, received 70000",
  });
  assert.throws(() => new Kernel({ withMonitor: { port: 1.5 } }), RangeError);
  assert.throws(() => new Kernel({ withMonitor: { port: "1" as never } }), {
    name: "TypeError",
    message: "Cannot configure the monitor: port must be a number, received string",
  });
  assert.throws(() => new Kernel({ withMonitor: { host: "" } }), TypeError);
  assert.throws(() => new Kernel({ withMonitor: "yes" as never }), TypeError);
});

Deno.test("withMonitor on a port in use makes run() reject with a CurioError", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    let ran = false;
    await assert.rejects(
      run(async () => {
        ran = true;
      }, { withMonitor: { port: taken.addr.port } }),
      (e: unknown) =>
        e instanceof CurioError &&
        e.message.startsWith(`Cannot start the monitor on 127.0.0.1:${taken.addr.port}: `) &&
        e.message.endsWith("pass withMonitor: { port: 0 } or another port") &&
        e.cause instanceof Deno.errors.AddrInUse,
    );
    assert.equal(ran, false);
  } finally {
    taken.close();
  }
});

// --- the monitor.ts command-line client -----------------------------------

const clientPath = new URL("../../monitor.ts", import.meta.url).pathname;

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
    assert.match(lines[0]!, /^\s*ID\s+STATE/);
    assert(
      lines.some((l) =>
        new RegExp(`^\\s*${t.id}\\s+EVENT_WAIT\\s.*scripted \\(daemon\\)$`).test(l)
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
