import assert from "node:assert/strict";
import {
  CancelledError,
  CurioError,
  run,
  runInThread,
  sleep,
  spawn,
  TaskTimeout,
  timeoutAfter,
  workerFunction,
  workerLimits,
} from "@curio/curio";

const work = new URL("./fixtures/work.ts", import.meta.url);

// Runs fib(n) over and over for at least `ms` milliseconds (self-contained).
function fibFor(n: number, ms: number): number {
  const fib = (k: number): number => k < 2 ? k : fib(k - 1) + fib(k - 2);
  const until = Date.now() + ms;
  let result = 0;
  do result = fib(n); while (Date.now() < until);
  return result;
}

Deno.test("runInThread() runs fib in a worker while a ticker task keeps ticking", async () => {
  const trace: string[] = [];
  await run(async () => {
    let ticks = 0;
    const ticker = await spawn(async () => {
      for (;;) {
        await sleep(0.01);
        ticks++;
      }
    }, { daemon: true });
    const call = await spawn(() => runInThread(fibFor, 25, 300));
    await sleep(0.05);
    trace.push(`call is ${call.state}`);
    const result = await call.join();
    trace.push(`fib(25) = ${result}`);
    assert(ticks >= 5, `the ticker should have kept ticking, ticked ${ticks} times`);
    await ticker.cancel();
  });
  assert.deepEqual(trace, ["call is THREAD_WAIT", "fib(25) = 75025"]);
});

Deno.test("runInThread() passes arguments and results by structured clone", async () => {
  const out = await run(() =>
    runInThread(
      (m: Map<string, Date>, bytes: Uint8Array, n: bigint) => ({
        keys: [...m.keys()],
        year: m.get("epoch")!.getUTCFullYear(),
        sum: bytes.reduce((a, b) => a + b, 0),
        n: n * 2n,
        set: new Set([1, 2]),
      }),
      new Map([["epoch", new Date(0)]]),
      new Uint8Array([1, 2, 3]),
      21n,
    )
  );
  assert.deepEqual(out, { keys: ["epoch"], year: 1970, sum: 6, n: 42n, set: new Set([1, 2]) });
});

Deno.test("runInThread() returns results shaped like its own replies as plain values", async () => {
  const shapes = [
    { ok: false, error: { name: "Error", message: "not an error", stack: "" } },
    { crash: { name: "Error", message: "not a crash", stack: "" } },
    { lost: "not lost" },
    { reply: { lost: "not a failure" } },
    { __curioReply: { ok: false, error: { name: "Error", message: "x", stack: "" } } },
    undefined,
    null,
  ];
  const echoed = await run(async () => {
    const out = [];
    // Each shape goes out as the argument and comes back as the result.
    for (const shape of shapes) out.push(await runInThread((x: unknown) => x, shape));
    return out;
  });
  assert.deepEqual(echoed, shapes, "every result should come back as the value it was");
});

Deno.test("runInThread() runs async functions and method-shaped functions", async () => {
  const obj = {
    double(x: number): number {
      return 2 * x;
    },
  };
  const [a, b] = await run(async () => [
    await runInThread(async (x: number) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return x + 1;
    }, 1),
    await runInThread(obj.double, 21),
  ]);
  assert.equal(a, 2);
  assert.equal(b, 42);
});

Deno.test("runInThread() rejects with the worker's error: same name, message and a worker stack", async () => {
  await run(async () => {
    const error = await runInThread(function parse(text: string) {
      class ParseError extends Error {
        override name = "ParseError";
      }
      throw new ParseError(`bad input ${text}`);
    }, "x").then(() => undefined, (e: unknown) => e);
    assert(error instanceof Error);
    assert.equal(error.name, "ParseError");
    assert.equal(error.message, "bad input x");
    assert.match(error.stack!, /at parse \(.*worker:parse/);
    assert.match(error.stack!, /run_in_thread_test\.ts/);
    await assert.rejects(
      runInThread(() => {
        throw new RangeError("out of range");
      }),
      (e: unknown) => e instanceof RangeError && e.message === "out of range",
    );
  });
});

Deno.test("runInThread() says a function using a closure variable must be self-contained", async () => {
  const factor = 3;
  await run(async () => {
    await assert.rejects(
      runInThread((x: number) => x * factor, 2),
      (e: unknown) =>
        e instanceof ReferenceError && /^factor is not defined: /.test(e.message) &&
        /must be self-contained/.test(e.message) && /workerFunction/.test(e.message),
    );
  });
});

Deno.test("runInThread() rejects an uncloneable argument before sending, naming it", async () => {
  await run(async () => {
    await assert.rejects(
      runInThread((a: number, _b: unknown) => a, 1, () => 2),
      (e: unknown) =>
        e instanceof DOMException && e.name === "DataCloneError" &&
        /^Cannot send argument 1 \(a function/.test(e.message),
    );
    await assert.rejects(
      runInThread(() => () => 1),
      (e: unknown) =>
        e instanceof DOMException && e.name === "DataCloneError" &&
        /Cannot return the result from a worker thread/.test(e.message),
    );
    await assert.rejects(
      runInThread((_s: unknown) => 1, Deno.stdin),
      (e: unknown) =>
        e instanceof TypeError &&
        /^Cannot send argument 0 \(a Stdin\) to a worker thread: it is a resource/.test(e.message),
    );
    // The pool is still usable.
    assert.equal(await runInThread((a: number) => a + 1, 1), 2);
  });
});

Deno.test("runInThread() rejects bad input with TypeError, and CurioError outside a task", async () => {
  await run(async () => {
    await assert.rejects(runInThread(42 as never), TypeError);
    await assert.rejects(runInThread(Math.max), /native or bound function/);
    await assert.rejects(runInThread(class {} as never), /received a class/);
  });
  await assert.rejects(runInThread(() => 1), CurioError);
});

Deno.test("runInThread() cancelled terminates the worker; the next call works", async () => {
  const counter = new Int32Array(new SharedArrayBuffer(4));
  await run(async () => {
    const call = await spawn(() =>
      timeoutAfter(30, () =>
        runInThread(async (c: Int32Array) => {
          for (;;) {
            Atomics.add(c, 0, 1);
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
        }, counter))
    );
    // Wait (bounded) until the loop runs, then cancel the call.
    for (let i = 0; i < 1000 && Atomics.load(counter, 0) === 0; i++) await sleep(0.01);
    await call.cancel();
    assert(call.exception instanceof CancelledError);
    await sleep(0.05);
    const seen = Atomics.load(counter, 0);
    assert(seen > 0, "the loop ran");
    await sleep(0.1);
    assert.equal(Atomics.load(counter, 0), seen, "the terminated worker counts no more");
    assert.equal(await runInThread((a: number, b: number) => a * b, 6, 7), 42);
  });
});

Deno.test("runInThread() cancelled by a timeout in a synchronous loop frees its slot; the next call works", async () => {
  // Deno's Worker.terminate() cannot interrupt synchronous code: the old
  // worker finishes its loop as a zombie, but the pool replaces it at once.
  const before = workerLimits.maxThreads;
  workerLimits.maxThreads = 1;
  try {
    await run(async () => {
      const id = () => ((globalThis as { id?: number }).id ??= Math.random());
      const first = await runInThread(id);
      await assert.rejects(
        timeoutAfter(0.05, () =>
          runInThread((ms: number) => {
            const until = Date.now() + ms;
            while (Date.now() < until) { /* busy */ }
          }, 300)),
        TaskTimeout,
      );
      const second = await runInThread(id);
      assert.notEqual(second, first, "a fresh worker serves the next call");
      await sleep(0.35); // let the zombie finish, so nothing outlives the test
    });
  } finally {
    workerLimits.maxThreads = before;
  }
});

Deno.test("runInThread() caps 100 concurrent calls at workerLimits.maxThreads", async () => {
  const before = workerLimits.maxThreads;
  workerLimits.maxThreads = 4;
  const stats = new Int32Array(new SharedArrayBuffer(8)); // [active, most active]
  try {
    const states = new Set<string>();
    const results = await run(async () => {
      const tasks = [];
      for (let i = 0; i < 100; i++) {
        tasks.push(
          await spawn(() =>
            runInThread(
              (s: Int32Array, i: number) => {
                const now = Atomics.add(s, 0, 1) + 1;
                for (let m = Atomics.load(s, 1); now > m; m = Atomics.load(s, 1)) {
                  Atomics.compareExchange(s, 1, m, now);
                }
                const until = Date.now() + 2;
                while (Date.now() < until) { /* busy */ }
                Atomics.sub(s, 0, 1);
                return i;
              },
              stats,
              i,
            )
          ),
        );
      }
      for (const t of tasks) states.add(t.state);
      return await Promise.all(tasks.map((t) => t.join()));
    });
    assert.deepEqual(results, Array.from({ length: 100 }, (_, i) => i));
    assert(Atomics.load(stats, 1) <= 4, `at most 4 at once, saw ${Atomics.load(stats, 1)}`);
    assert(Atomics.load(stats, 1) >= 2, "calls ran in parallel");
    assert(states.has("THREAD_ACQUIRE"), "calls beyond the limit waited for a worker");
  } finally {
    workerLimits.maxThreads = before;
  }
});

Deno.test("runInThread() waiting for a worker can be cancelled without losing the slot", async () => {
  const before = workerLimits.maxThreads;
  workerLimits.maxThreads = 1;
  try {
    await run(async () => {
      const busy = await spawn(() => runInThread(fibFor, 10, 100));
      const waiter = await spawn(() => runInThread(() => "never"));
      for (let i = 0; i < 10 && waiter.state !== "THREAD_ACQUIRE"; i++) await sleep(0);
      assert.equal(waiter.state, "THREAD_ACQUIRE");
      await waiter.cancel();
      assert(waiter.exception instanceof CancelledError);
      assert.equal(await busy.join(), 55);
      assert.equal(await runInThread(() => "next"), "next");
    });
  } finally {
    workerLimits.maxThreads = before;
  }
});

Deno.test("runInThread() survives a worker that closes itself or crashes", async () => {
  await run(async () => {
    await assert.rejects(
      runInThread(() => (globalThis as unknown as { close(): void }).close()),
      /Cannot run function in a worker thread: the worker called self\.close\(\) before replying/,
    );
    await assert.rejects(
      runInThread(() => {
        setTimeout(() => {
          throw new SyntaxError("thrown from a timer");
        });
        return new Promise(() => {});
      }),
      (e: unknown) =>
        e instanceof Error && /the worker crashed before replying/.test(e.message) &&
        e.cause instanceof SyntaxError && e.cause.message === "thrown from a timer",
    );
    await assert.rejects(
      runInThread(() => {
        Promise.reject(new TypeError("nobody handles me"));
        return new Promise(() => {});
      }),
      /the worker crashed before replying \(TypeError: nobody handles me\)/,
    );
    assert.equal(await runInThread(() => "still working"), "still working");
  });
});

Deno.test("runInThread() runs a workerFunction with its module's imports", async () => {
  await run(async () => {
    assert.deepEqual(await runInThread(workerFunction(work, "crunch"), 20), {
      greeting: "hello from a module",
      fib: 6765,
      inWorker: true,
    });
    await assert.rejects(
      runInThread(workerFunction(work, "fail"), "x"),
      (e: unknown) =>
        e instanceof Error && e.name === "ParseError" && e.message === 'cannot parse "x"' &&
        /fixtures\/work\.ts/.test(e.stack!),
    );
    await assert.rejects(
      runInThread(workerFunction(work, "notAFunction")),
      /has no exported function named "notAFunction" \(found a number\)/,
    );
    await assert.rejects(
      runInThread(workerFunction(new URL("./fixtures/missing.ts", import.meta.url), "f")),
      /Cannot load worker function module .*missing\.ts/,
    );
    await assert.rejects(
      runInThread(
        workerFunction(new URL("./fixtures/throws_at_top_level.ts", import.meta.url), "never"),
      ),
      /Cannot load worker function module .*throws_at_top_level\.ts: boom at top level/,
    );
    assert.equal(
      await runInThread(workerFunction<{ fib: number }>(work, "crunch"), 5).then((r) => r.fib),
      5,
    );
  });
});

Deno.test("runInThread() reuses warm workers", async () => {
  const ids = await run(async () => {
    const id = () => ((globalThis as { id?: number }).id ??= Math.random());
    return [await runInThread(id), await runInThread(id), await runInThread(id)];
  });
  assert.equal(new Set(ids).size, 1);
});

Deno.test("runInThread() needs no permissions for a self-contained function", async () => {
  const mod = new URL("../../mod.ts", import.meta.url).href;
  const script = `
    import { run, runInThread } from ${JSON.stringify(mod)};
    console.log(await run(() => runInThread((a, b) => a + b, 20, 22)));`;
  const file = await Deno.makeTempFile({ suffix: ".js" });
  try {
    await Deno.writeTextFile(file, script);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", file],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.equal(new TextDecoder().decode(out.stdout), "42\n");
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("runInThread() warns at shutdown about a cancelled call still in synchronous code", async () => {
  // In a child process: console.warn is global, and test files share one
  // process under --parallel, so a stub here would race with other tests.
  const mod = new URL("../../mod.ts", import.meta.url).href;
  const script = `
    import { CancelledError, run, runInThread, sleep, spawn } from ${JSON.stringify(mod)};
    // The worker says when it is inside its synchronous loop, so the cancel
    // lands there and not before the worker has even started.
    const started = new Int32Array(new SharedArrayBuffer(4));
    await run(async () => {
      const t = await spawn(() =>
        runInThread((flag, ms) => {
          Atomics.store(flag, 0, 1);
          const until = Date.now() + ms;
          while (Date.now() < until) { /* busy */ }
        }, started, 1500));
      while (Atomics.load(started, 0) === 0) await sleep(0.01);
      await t.cancel();
      console.log(t.exception instanceof CancelledError ? "cancelled" : String(t.exception));
    });`;
  const file = await Deno.makeTempFile({ suffix: ".js" });
  try {
    await Deno.writeTextFile(file, script);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", file],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
      signal: AbortSignal.timeout(60_000),
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.equal(new TextDecoder().decode(out.stdout), "cancelled\n");
    const warnings = stderr.split("\n").filter((line) => line.startsWith("curio:"));
    assert.equal(warnings.length, 1, `expected one warning, stderr was:\n${stderr}`);
    assert.match(
      warnings[0]!,
      /^curio: 1 cancelled runInThread\(\) call\(s\) still run synchronous code/,
    );
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("runInThread() does not count workers that ended themselves as cancelled calls at shutdown", async () => {
  // 24 workers that call self.close() and 8 that call Deno.exit() mid-call
  // were once reported as "cancelled calls still in synchronous code".
  const mod = new URL("../../mod.ts", import.meta.url).href;
  const script = `
    import { run, runInThread } from ${JSON.stringify(mod)};
    let failed = 0;
    await run(async () => {
      for (let i = 0; i < 24; i++) {
        await runInThread(() => { self.close(); return 1; }).catch(() => failed++);
      }
      for (let i = 0; i < 8; i++) {
        await runInThread(() => Deno.exit(i)).catch(() => failed++);
      }
    });
    console.log(failed);`;
  const file = await Deno.makeTempFile({ suffix: ".js" });
  try {
    await Deno.writeTextFile(file, script);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", file],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
      signal: AbortSignal.timeout(60_000),
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.equal(new TextDecoder().decode(out.stdout), "32\n", "every call rejected");
    assert.doesNotMatch(stderr, /curio: .*cancelled runInThread/, "a false shutdown warning");
  } finally {
    await Deno.remove(file);
  }
});
