import assert from "node:assert/strict";
import {
  run,
  runInProcess,
  SharedLock,
  sleep,
  spawn,
  TaskTimeout,
  timeoutAfter,
  workerFunction,
  workerLimits,
} from "@curio/curio";

const work = new URL("./fixtures/work.ts", import.meta.url);

Deno.test("runInProcess() runs in a warm child process, reused across calls", async () => {
  const [a, b, state] = await run(async () => {
    const call = await spawn(() => runInProcess(() => Deno.pid));
    for (let i = 0; i < 10 && call.state !== "PROCESS_WAIT"; i++) await sleep(0);
    const state = call.state;
    return [await call.join(), await runInProcess(() => Deno.pid), state];
  });
  assert.notEqual(a, Deno.pid);
  assert.equal(b, a, "the second call reuses the warm process");
  assert.equal(state, "PROCESS_WAIT");
});

Deno.test("runInProcess() passes values structured-cloned, beyond JSON", async () => {
  const out = await run(() =>
    runInProcess(
      (m: Map<string, bigint>, d: Date, bytes: Uint8Array) => ({
        doubled: new Map([...m].map(([k, v]) => [k, v * 2n])),
        year: d.getUTCFullYear(),
        bytes: bytes.map((x) => x + 1),
        missing: undefined,
        nan: NaN,
      }),
      new Map([["x", 21n]]),
      new Date(0),
      new Uint8Array([1, 2]),
    )
  );
  assert.deepEqual(out, {
    doubled: new Map([["x", 42n]]),
    year: 1970,
    bytes: new Uint8Array([2, 3]),
    missing: undefined,
    nan: NaN,
  });
});

Deno.test("runInProcess() rejects with the child's error: same name and message", async () => {
  await run(async () => {
    await assert.rejects(
      runInProcess(function check(n: number) {
        if (n < 0) throw new RangeError(`n must be >= 0, got ${n}`);
      }, -1),
      (e: unknown) =>
        e instanceof RangeError && e.message === "n must be >= 0, got -1" &&
        /at check \(.*process:check/.test(e.stack!) && /run_in_process_test\.ts/.test(e.stack!),
    );
    await assert.rejects(
      runInProcess(workerFunction(work, "fail"), "y"),
      (e: unknown) =>
        e instanceof Error && e.name === "ParseError" && e.message === 'cannot parse "y"',
    );
  });
});

Deno.test("runInProcess() runs a workerFunction with its module's imports", async () => {
  const out = await run(async () => ({
    crunch: await runInProcess(workerFunction(work, "crunch"), 10),
    pid: await runInProcess(workerFunction<number>(work, "pidLater")),
  }));
  assert.deepEqual(out.crunch, { greeting: "hello from a module", fib: 55, inWorker: false });
  assert.notEqual(out.pid, Deno.pid);
});

Deno.test("runInProcess() rejects bad arguments before sending", async () => {
  await run(async () => {
    await assert.rejects(
      runInProcess((_f: unknown) => 1, () => 2),
      (e: unknown) =>
        e instanceof DOMException && e.name === "DataCloneError" &&
        /^Cannot send argument 0 \(a function/.test(e.message),
    );
    await assert.rejects(
      runInProcess((_l: unknown) => 1, new SharedLock()),
      (e: unknown) =>
        e instanceof TypeError &&
        /argument 0 \(a SharedLock\) to a worker process: shared memory does not cross processes/
          .test(e.message),
    );
    await assert.rejects(runInProcess("Deno.pid" as never), TypeError);
    await assert.rejects(
      runInProcess((_f: unknown) => 1, Deno.stdout),
      /Cannot send argument 0 \(a Stdout\) to a worker process: it is a resource/,
    );
    await assert.rejects(
      runInProcess(() => () => 1),
      /Cannot return the result from a worker process/,
    );
    assert.equal(await runInProcess((a: number) => a + 1, 1), 2);
  });
});

Deno.test("runInProcess() recovers from a child that exits, is killed or prints garbage", async () => {
  const before = workerLimits.maxProcesses;
  workerLimits.maxProcesses = 1;
  try {
    await run(async () => {
      const first = await runInProcess(() => Deno.pid);
      await assert.rejects(
        runInProcess(() => Deno.exit(3)),
        /^Error: Cannot run function in a worker process: the child process exited with code 3 before replying$/,
      );
      await assert.rejects(
        runInProcess(() => Deno.kill(Deno.pid, "SIGKILL")),
        /the child process was killed by SIGKILL before replying/,
      );
      await assert.rejects(
        runInProcess(() => {
          Deno.stdout.writeSync(new TextEncoder().encode("hello, garbage\n"));
          return 1;
        }),
        /the child process wrote something other than a curio reply to its stdout \("hello, garbage/,
      );
      await assert.rejects(
        runInProcess(() => {
          setTimeout(() => {
            throw new EvalError("from a timer");
          });
          return new Promise(() => {});
        }),
        /the worker crashed before replying \(EvalError: from a timer\)/,
      );
      const last = await runInProcess(() => Deno.pid);
      assert.notEqual(last, first);
      assert.equal(
        await runInProcess(() => "console.log goes to stderr"),
        "console.log goes to stderr",
      );
    });
  } finally {
    workerLimits.maxProcesses = before;
  }
});

Deno.test("runInProcess() cancelled by a timeout terminates the process; the next call works", async () => {
  const before = workerLimits.maxProcesses;
  workerLimits.maxProcesses = 1;
  try {
    await run(async () => {
      const busyPid = await runInProcess(() => Deno.pid);
      await assert.rejects(
        timeoutAfter(0.2, () =>
          runInProcess(() => {
            for (;;) { /* until SIGTERM */ }
          })),
        TaskTimeout,
      );
      const next = await runInProcess(() => Deno.pid);
      assert.notEqual(next, busyPid, "a fresh process serves the next call");
    });
  } finally {
    workerLimits.maxProcesses = before;
  }
});

Deno.test("runInProcess() caps concurrent calls at workerLimits.maxProcesses", async () => {
  const before = workerLimits.maxProcesses;
  workerLimits.maxProcesses = 2;
  try {
    const pids = await run(async () => {
      const tasks = [];
      for (let i = 0; i < 6; i++) tasks.push(await spawn(() => runInProcess(() => Deno.pid)));
      return await Promise.all(tasks.map((t) => t.join()));
    });
    assert(new Set(pids).size <= 2, `at most 2 processes, saw ${new Set(pids).size}`);
  } finally {
    workerLimits.maxProcesses = before;
  }
});

Deno.test("runInThread() and runInProcess() pools end with run(): the program exits by itself", async () => {
  const mod = new URL("../../mod.ts", import.meta.url).href;
  const script = `
    import { run, runInProcess, runInThread } from ${JSON.stringify(mod)};
    const out = await run(async () => [await runInThread(() => 1), await runInProcess(() => 2)]);
    console.log(JSON.stringify(out));`;
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(file, script);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", file],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.equal(new TextDecoder().decode(out.stdout), "[1,2]\n");
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("runInProcess() carries large arguments and results across the pipes", async () => {
  const big = new Uint8Array(3 * 1024 * 1024).map((_, i) => i & 0xff);
  const back = await run(() => runInProcess((bytes: Uint8Array) => bytes.map((b) => 255 - b), big));
  assert.equal(back.length, big.length);
  assert.equal(back[0], 255);
  assert.equal(back[big.length - 1], 255 - ((big.length - 1) & 0xff));
});
