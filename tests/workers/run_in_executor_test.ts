import assert from "node:assert/strict";
import {
  CurioError,
  run,
  runInExecutor,
  sleep,
  spawn,
  TaskTimeout,
  timeoutAfter,
} from "@curio/curio";

Deno.test("runInExecutor() calls submit(fn, ...args) and returns the result", async () => {
  const calls: unknown[][] = [];
  const executor = {
    submit(fn: (...a: number[]) => number, ...args: number[]) {
      calls.push([fn.name, ...args]);
      return Promise.resolve(fn(...args));
    },
  };
  const out = await run(() =>
    runInExecutor<number>(
      executor,
      function add(a: number, b: number) {
        return a + b;
      },
      2,
      3,
    )
  );
  assert.equal(out, 5);
  assert.deepEqual(calls, [["add", 2, 3]]);
});

Deno.test("runInExecutor() waits in FUTURE_WAIT and rethrows the work's error", async () => {
  await run(async () => {
    const { promise, reject } = Promise.withResolvers<number>();
    const t = await spawn(() => runInExecutor({ submit: () => promise }, () => 0));
    for (let i = 0; i < 10 && t.state !== "FUTURE_WAIT"; i++) await sleep(0);
    assert.equal(t.state, "FUTURE_WAIT");
    reject(new URIError("bad uri"));
    await assert.rejects(t.join(), (e: unknown) => (e as Error).cause instanceof URIError);
  }, { logErrors: false });
});

Deno.test("runInExecutor() accepts a thenable and calls its cancel() when cancelled", async () => {
  const trace: string[] = [];
  const future = {
    then(_resolve: (v: number) => void) {
      trace.push("then");
    },
    cancel() {
      trace.push("cancel");
    },
  };
  await run(async () => {
    await assert.rejects(
      timeoutAfter(0.01, () => runInExecutor({ submit: () => future as never }, () => 0)),
      TaskTimeout,
    );
  });
  assert.deepEqual(trace, ["then", "cancel"]);
});

Deno.test("runInExecutor() rejects bad executors with TypeError, and CurioError outside a task", async () => {
  await run(async () => {
    await assert.rejects(
      runInExecutor({} as never, () => 1),
      /Cannot run in executor: expected an object with a submit\(fn, \.\.\.args\) method, received an Object/,
    );
    await assert.rejects(
      runInExecutor({ submit: () => 42 } as never, () => 1),
      /submit\(\) must return a promise-like, it returned a number/,
    );
  });
  await assert.rejects(runInExecutor({ submit: () => Promise.resolve(1) }, () => 1), CurioError);
});
