import assert from "node:assert/strict";
import {
  CancelledError,
  MockClock,
  run,
  sleep,
  spawn,
  TaskError,
  timeoutAfter,
} from "@curio/curio";

const virtual = () => ({ clock: new MockClock({ autojump: 0 }) });

/** Runs `body` with console.error replaced by a recorder; returns the recorded calls. */
async function capturingErrors(body: () => Promise<void>): Promise<unknown[][]> {
  const calls: unknown[][] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => {
    calls.push(args);
  };
  try {
    await body();
  } finally {
    console.error = original;
  }
  return calls;
}

async function crashingTask(): Promise<never> {
  await sleep(0);
  throw new RangeError("the crash under test");
}

Deno.test("logErrors reports a crashed task once, with its id, name, error and stack", async () => {
  let id = 0;
  const calls = await capturingErrors(() =>
    run(async () => {
      const t = await spawn(crashingTask, { name: "cruncher" });
      id = t.id;
      await assert.rejects(t.join(), TaskError);
      await assert.rejects(t.join(), TaskError); // joining again reports nothing more
    }, virtual())
  );
  assert.equal(calls.length, 1, "exactly one report");
  const [headline, error] = calls[0]!;
  assert.equal(headline, `curio: task ${id} (cruncher) crashed:`);
  assert(error instanceof RangeError);
  assert.equal(error.message, "the crash under test");
  const printed = Deno.inspect(error);
  assert.match(printed, /RangeError: the crash under test/);
  assert.match(
    printed,
    /at crashingTask \(.*crash_logging_test\.ts:\d+:\d+\)/,
    "the stack is shown",
  );
});

Deno.test("logErrors reports each crashed task, daemons included", async () => {
  const calls = await capturingErrors(() =>
    run(async () => {
      await spawn(crashingTask, { name: "first" });
      await spawn(crashingTask, { name: "second", daemon: true });
      await sleep(0);
      await sleep(0);
    }, virtual())
  );
  assert.deepEqual(
    calls.map((c) => String(c[0]).replace(/task \d+/, "task N")),
    ["curio: task N (first) crashed:", "curio: task N (second) crashed:"],
  );
});

Deno.test("logErrors does not report a cancelled or timed-out task", async () => {
  const calls = await capturingErrors(() =>
    run(async () => {
      const cancelled = await spawn(() => sleep(1000), { name: "cancelled" });
      await cancelled.cancel();
      const rethrows = await spawn(async () => {
        try {
          await sleep(1000);
        } catch (error) {
          assert(error instanceof CancelledError);
          throw error;
        }
      }, { name: "rethrows" });
      await rethrows.cancel();
      const timedOut = await spawn(() => timeoutAfter(1, () => sleep(5)), { name: "timed out" });
      await assert.rejects(timedOut.join(), TaskError);
      await spawn(() => sleep(1000), { name: "daemon", daemon: true }); // cancelled at shutdown
    }, virtual())
  );
  assert.deepEqual(calls, []);
});

Deno.test("logErrors does not report main's error: run() rejects with it instead", async () => {
  const boom = new TypeError("main failed");
  const calls = await capturingErrors(async () => {
    const err = await run(async () => {
      await sleep(0);
      throw boom;
    }, virtual()).catch((e) => e);
    assert.equal(err, boom);
  });
  assert.deepEqual(calls, []);
});

Deno.test("logErrors: false reports nothing", async () => {
  const calls = await capturingErrors(() =>
    run(async () => {
      const t = await spawn(crashingTask, { name: "quiet" });
      await assert.rejects(t.join(), TaskError);
    }, { ...virtual(), logErrors: false })
  );
  assert.deepEqual(calls, []);
});

Deno.test("debug: true on a crash neither throws nor stops the kernel", async () => {
  // Without an attached inspector the `debugger` statement is a no-op; with
  // `deno run --inspect-brk` it stops in the kernel's crash handler.
  const trace: string[] = [];
  const calls = await capturingErrors(async () => {
    const result = await run(async () => {
      const other = await spawn(async () => {
        for (let i = 0; i < 3; i++) await sleep(0.5);
        trace.push("other finished");
      });
      const t = await spawn(crashingTask, { name: "debugged" });
      await assert.rejects(t.join(), TaskError);
      trace.push("crash seen");
      await other.join();
      return "main finished";
    }, { ...virtual(), debug: true });
    trace.push(result);
  });
  assert.deepEqual(trace, ["crash seen", "other finished", "main finished"]);
  assert.equal(calls.length, 1, "debug does not replace the report");
  assert.match(String(calls[0]![0]), /^curio: task \d+ \(debugged\) crashed:$/);
});

Deno.test("debug: true with logErrors: false stays silent and the kernel goes on", async () => {
  const calls = await capturingErrors(async () => {
    const result = await run(async () => {
      const t = await spawn(crashingTask);
      await assert.rejects(t.join(), TaskError);
      return 7;
    }, { ...virtual(), debug: true, logErrors: false });
    assert.equal(result, 7);
  });
  assert.deepEqual(calls, []);
});

// --- debug: true with a real inspector attached ------------------------------

/**
 * Runs a program in a child `deno run --inspect-wait`, attaches to its
 * inspector over the DevTools protocol, resumes at every pause and records
 * where each pause happened.
 */
async function underInspector(
  options: string,
): Promise<{ pauses: string[]; stdout: string; code: number }> {
  const dir = await Deno.makeTempDir();
  const script = `${dir}/crash.ts`;
  const mod = new URL("../../mod.ts", import.meta.url).href;
  await Deno.writeTextFile(
    script,
    `import { run, sleep, spawn } from ${JSON.stringify(mod)};
await run(async () => {
  const t = await spawn(async function crashesUnderTheInspector() {
    await sleep(0);
    throw new Error("boom");
  });
  await t.wait();
  console.log("kernel went on");
}, ${options});
`,
  );
  const killer = new AbortController();
  const guard = setTimeout(() => killer.abort(), 30_000);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--inspect-wait=127.0.0.1:0", script],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
    signal: killer.signal,
  }).spawn();
  const pauses: string[] = [];
  let ws: WebSocket | undefined;
  try {
    const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let said = "";
    let url: string | undefined;
    while (url === undefined) {
      const { value, done } = await stderr.read();
      if (done) throw new Error(`Cannot find the inspector URL in: ${said}`);
      said += value;
      url = /ws:\/\/\S+/.exec(said)?.[0];
    }
    const drained = (async () => {
      while (!(await stderr.read()).done) { /* discard */ }
    })();
    const socket = new WebSocket(url);
    ws = socket;
    const closed = new Promise((resolve) => socket.onclose = resolve);
    await new Promise((resolve, reject) => {
      socket.onopen = resolve;
      socket.onerror = reject;
    });
    let id = 0;
    const send = (method: string): number => {
      socket.send(JSON.stringify({ id: ++id, method, params: {} }));
      return id;
    };
    let resumeId = -1;
    socket.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.method === "Debugger.paused") {
        const frame = msg.params.callFrames[0];
        pauses.push(`${msg.params.reason} ${frame.functionName}`);
        resumeId = send("Debugger.resume");
      } else if (msg.id === resumeId) {
        socket.close(); // the program may exit once the inspector leaves
      }
    };
    send("Runtime.enable");
    send("Debugger.enable");
    send("Runtime.runIfWaitingForDebugger");
    // With an inspector attached the program waits for it to leave before it
    // exits: leave once it has printed its last line.
    let stdout = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      stdout += chunk;
      if (stdout.endsWith("kernel went on\n") && socket.readyState === WebSocket.OPEN) {
        socket.close();
      }
    }
    await closed;
    await drained;
    const { code } = await child.status;
    return { pauses, stdout, code };
  } finally {
    if (ws !== undefined && ws.readyState !== WebSocket.CLOSED) ws.close();
    clearTimeout(guard);
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("debug: true stops an attached inspector in the kernel's crash handler", async () => {
  const { pauses, stdout, code } = await underInspector("{ debug: true, logErrors: false }");
  assert.deepEqual(pauses, ["other #reportCrash"]);
  assert.equal(stdout, "kernel went on\n");
  assert.equal(code, 0);
});

Deno.test("debug: false never stops an attached inspector", async () => {
  const { pauses, stdout, code } = await underInspector("{ logErrors: false }");
  assert.deepEqual(pauses, []);
  assert.equal(stdout, "kernel went on\n");
  assert.equal(code, 0);
});
