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
  type Task,
} from "@curio/curio";
import { _getKernel, _rescheduleTasks, _waitOnQueue, KernelQueue } from "@curio/curio/traps";
import { connectMonitor, type MonitorClient } from "@curio/curio/monitor";
import { DEFAULT_LIMITS } from "../../monitor/_protocol.ts";

const MONITOR_MAX_CLIENTS = DEFAULT_LIMITS.maxClients;
const monitored: KernelOptions = { withMonitor: { port: 0, onListen: () => {} } };

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
    assert.match(ps[0]!, /^\s*ID\s+PARENT\s+STATE\s+CYCLES\s+TIME\s+NAME$/);
    const row = ps.find((line) => line.endsWith(" waiter (daemon)"));
    assert(row !== undefined, `no row for the waiter in:\n${ps.join("\n")}`);
    assert.match(
      row,
      new RegExp(
        `^\\s*${t.id}\\s+${t.parentId}\\s+EVENT_WAIT\\s+\\d+\\s+\\d+\\.\\ds\\s+waiter \\(daemon\\)$`,
      ),
    );
    assert(
      !ps.some((line) => line.includes("curio.monitor")),
      "the monitor runs in a worker: no task of its own",
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
      new RegExp(`^\\s*${t.id}\\s+\\d+\\s+TIME_SLEEP\\s+\\d+\\s+7\\.5s\\s+sleeper \\(daemon\\)$`),
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
    assert.match(where, /at parkedInWhereTest \(.*console_test\.ts:\d+:\d+\)/);
    assert.match(where, /at _waitOnQueue /);
    assert(!where.includes("_task_core.ts"), "kernel internals are left out");
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
    const cases: Array<[string, RegExp]> = [
      ["bogus", /^error: unknown command "bogus"; type help$/],
      ["where", /^error: usage: where ID \(a task id from ps\)$/],
      ["where abc", /^error: usage: where ID/],
      ["where 1 2", /^error: usage: where ID/],
      ["where 99999999", /^error: no task with id 99999999$/],
      ["cancel -1", /^error: usage: cancel ID/],
      ["cancel 99999999", /^error: no task with id 99999999$/],
      ["pzz", /^error: unknown command "pzz"; type help$/],
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
    assert.match(await monitor.command("HELP"), /^commands .*\n {2}ps \[p\]/);
    assert.match(await monitor.command("ps"), /\bmain\n?/);
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
    assert.match(await again.command("ps"), / main$/m);
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
      assert.match(ps, /^\s*\d+\s+-\s+RUNNING\s.*main$/m, "main holds the kernel while it awaits");
    }
    assert.match(helpB, /^commands /);
    assert.equal(await a.command("quit"), "bye");
    assert.match(await b.command("ps"), / main$/m);
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
    assert.match(await monitor.command("ps"), / main$/m);
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
    assert.match(await monitor.command("ps"), / main$/m);
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
    assert.equal(
      await readToEnd(conn!),
      "\ncurio monitor: the program is exiting; bye\n",
      "the server said goodbye and closed at shutdown",
    );
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
    assert.match(await monitor.command("ps"), / main$/m);
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
    { withMonitor: { host: "::1", port: 0, onListen: () => {} } },
  );
  assert.equal(v6, "::1");
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

// --- round 2: short forms, parents, limits ----------------------------------

Deno.test("monitor takes curio's short forms and any unique prefix of a command", async () => {
  await run(async () => {
    const t = await spawn(() => sleep(1000), { name: "napper", daemon: true });
    await using monitor = await connect();
    const ps = await monitor.command("ps");
    for (const form of ["p", "PS", "P"]) {
      assert.equal(
        (await monitor.command(form)).replace(/\d+\.\ds/g, "T"),
        ps.replace(/\d+\.\ds/g, "T"),
        form,
      );
    }
    const where = await monitor.command(`where ${t.id}`);
    for (const form of ["w", "wh", "whe", "wher"]) {
      assert.equal(await monitor.command(`${form} ${t.id}`), where, form);
    }
    const parents = await monitor.command(`parents ${t.id}`);
    for (const form of ["pa", "par", "pare"]) {
      assert.equal(await monitor.command(`${form} ${t.id}`), parents, form);
    }
    for (const form of ["h", "he", "?"]) assert.match(await monitor.command(form), /^commands /);
    assert.match(await monitor.command("s"), /^error: usage: signal NAME/);
    assert.match(await monitor.command("sig"), /^error: usage: signal NAME/);
    assert.match(await monitor.command("c"), /^error: usage: cancel ID/);
    assert.match(await monitor.command("can 99999999"), /^error: no task with id 99999999$/);
    assert.equal(await monitor.command(`c ${t.id}`), `task ${t.id} (napper) cancelled`);
    assert.equal(await monitor.command("q"), "bye");
    await using other = await connect();
    assert.equal(await other.command("ex"), "bye", "exit, by a prefix");
  }, monitored);
});

Deno.test("monitor help lists every command with its short form", async () => {
  await run(async () => {
    await using monitor = await connect();
    const help = await monitor.command("help");
    for (
      const [usage, short] of [
        ["ps", "p"],
        ["where ID", "w"],
        ["parents ID", "pa"],
        ["cancel ID", "c"],
        ["signal NAME", "s"],
        ["web", "we"],
        ["help", "h"],
        ["quit", "q"],
      ]
    ) {
      assert.match(help, new RegExp(`^  ${usage} \\[${short}\\] `, "m"), usage);
    }
  }, monitored);
});

async function grandchild(): Promise<void> {
  await sleep(1000);
}

async function child(): Promise<void> {
  const t = await spawn(grandchild, { daemon: true });
  await t.join();
}

Deno.test("monitor parents ID shows the chain of tasks that spawned it, up to main", async () => {
  await run(async () => {
    const c = await spawn(child, { daemon: true });
    await sleep(0);
    await using monitor = await connect();
    const ps = await monitor.command("ps");
    const row = ps.split("\n").find((l) => l.endsWith(" grandchild (daemon)"));
    assert(row !== undefined, ps);
    const [id, parent] = row.trim().split(/\s+/);
    assert.equal(parent, String(c.id), "ps shows the parent's id");
    // main awaits this test's own client (a promise the kernel does not
    // know): RUNNING, or FOREIGN_WAIT once the kernel has noticed.
    const mainState = "(RUNNING|FOREIGN_WAIT)";
    assert.match(
      await monitor.command(`parents ${id}`),
      new RegExp(
        [
          `^task ${id} \\(grandchild\\) TIME_SLEEP`,
          `  spawned by task ${c.id} \\(child\\) TASK_JOIN`,
          `    spawned by task ${c.parentId} \\(main\\) ${mainState}$`,
        ].join("\n"),
      ),
    );
    assert.match(
      await monitor.command(`parents ${c.parentId}`),
      new RegExp(`^task ${c.parentId} \\(main\\) ${mainState}$`),
    );
    await c.cancel();
  }, monitored);
});

Deno.test("monitor parents ID names a parent that has terminated", async () => {
  await run(async () => {
    let orphan: Task | undefined;
    const parent = await spawn(async () => {
      orphan = await spawn(() => sleep(1000), { daemon: true, name: "orphan" });
    }, { name: "short-lived" });
    await parent.join();
    await using monitor = await connect();
    assert.equal(
      await monitor.command(`pa ${orphan!.id}`),
      `task ${orphan!.id} (orphan) TIME_SLEEP\n  spawned by task ${parent.id} (terminated)`,
    );
  }, monitored);
});

Deno.test("monitor slows a client that floods ps by bytes, not the program", async () => {
  await run(async () => {
    for (let i = 0; i < 200; i++) await spawn(() => sleep(1000), { daemon: true, name: "filler" });
    const [hostname, port] = (await _getKernel()).monitorAddress!;
    const conn = await Deno.connect({ hostname, port });
    try {
      const flood = new TextEncoder().encode("ps\n".repeat(400));
      for (let off = 0; off < flood.length;) off += await conn.write(flood.subarray(off));
      // 400 tables of ~200 rows are ~5 MB: beyond the 256 KB burst this
      // client's commands wait for its byte budget, so it gets far fewer.
      const got = new Uint8Array(64 * 1024);
      let bytes = 0;
      const until = Date.now() + 300;
      while (Date.now() < until) {
        const n = await conn.read(got);
        if (n === null) break;
        bytes += n;
      }
      assert(bytes > 0, "the flooding client was answered at first");
      assert(bytes < 1024 * 1024, `a budget of 256 KB + 256 KB/s let through ${bytes} bytes`);
    } finally {
      conn.close();
    }
  }, {
    withMonitor: {
      port: 0,
      onListen: () => {},
      limits: { byteBurst: 256 * 1024, byteRate: 256 * 1024 },
    } as never,
  });
});

Deno.test("monitor closes a client idle for longer than idleTimeout", async () => {
  await run(async () => {
    await using monitor = await connect();
    assert.equal(await monitor.command(""), "");
    assert.match(
      await monitor.whenClosed(),
      /^error: closing this connection after 0\.2s without a command$/,
    );
    assert.equal(monitor.closed, true);
  }, { withMonitor: { port: 0, onListen: () => {}, limits: { idleTimeout: 0.2 } } as never });
});

Deno.test("monitor makes room for a new client by closing the longest-idle one", async () => {
  await run(async () => {
    await using first = await connect();
    await using second = await connect();
    await sleep(0.15);
    await second.command(""); // second is active again: first is the longest idle
    await using third = await connect();
    assert.match(third.greeting, /^curio monitor: /, "the newcomer is served");
    assert.match(
      await first.whenClosed(),
      /^error: closing this connection after \d+s idle, to make room for a new client$/,
    );
    assert.equal(second.closed, false);
    assert.equal(await second.command("p").then((ps) => /main$/m.test(ps)), true);
  }, {
    withMonitor: {
      port: 0,
      onListen: () => {},
      limits: { maxClients: 2, evictAfter: 0.1 },
    } as never,
  });
});

Deno.test("monitor turns a newcomer away when no client has been idle long enough", async () => {
  await run(async () => {
    await using first = await connect();
    await using extra = await connect();
    assert.match(extra.greeting, /^error: too many monitor clients \(limit 1\)/);
    assert.equal(first.closed, false);
  }, {
    withMonitor: {
      port: 0,
      onListen: () => {},
      limits: { maxClients: 1, evictAfter: 60 },
    } as never,
  });
});

Deno.test("monitor makes a client whose ps tables take worker time wait for its time budget", async () => {
  await run(async () => {
    for (let i = 0; i < 2000; i++) await spawn(() => sleep(1000), { daemon: true, name: "filler" });
    await using monitor = await connect();
    // A budget of 1 ms, refilled at 10 ms per second: rendering one table of
    // 2,000 rows takes several ms, so the second ps waits about a second.
    await monitor.command("ps");
    let answered = 0;
    const second = monitor.command("ps").then(() => answered++);
    await sleep(0.2);
    assert.equal(answered, 0, "the second ps waits for the client's time budget");
    await second;
    assert.equal(answered, 1);
  }, {
    withMonitor: { port: 0, onListen: () => {}, limits: { timeBurst: 1, timeRate: 10 } } as never,
  });
});
