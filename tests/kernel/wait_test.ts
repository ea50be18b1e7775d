// wait() and currentSignal(): foreign promises within the kernel's reach.

import assert from "node:assert/strict";
import {
  CancelledError,
  CurioError,
  currentSignal,
  ignoreAfter,
  MockClock,
  run,
  sleep,
  spawn,
  TaskTimeout,
  timeoutAfter,
  wait,
} from "@curio/curio";

const virtual = () => ({ clock: new MockClock({ autojump: 0 }) });

/** A foreign promise that settles only when told to (or aborted through `signal`). */
function pending<T>(signal?: AbortSignal): {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
} {
  const { promise, resolve, reject } = Promise.withResolvers<T>();
  signal?.addEventListener("abort", () => reject(signal.reason));
  return { promise, resolve, reject };
}

Deno.test("wait(p) returns the promise's value, rethrows its rejection, and waits in FUTURE_WAIT", async () => {
  await run(async () => {
    assert.equal(await wait(Promise.resolve(7)), 7);
    await assert.rejects(wait(Promise.reject(new RangeError("no"))), RangeError);
    const p = pending<string>();
    const waiter = await spawn(() => wait(p.promise));
    assert.equal(waiter.state, "FUTURE_WAIT");
    p.resolve("done");
    assert.equal(await waiter.join(), "done");
  });
});

Deno.test("wait(p) under timeoutAfter raises TaskTimeout at the deadline; the abandoned rejection is swallowed", async () => {
  const p = pending<void>();
  await run(async () => {
    await assert.rejects(timeoutAfter(2, () => wait(p.promise)), TaskTimeout);
  }, virtual());
  // Nobody waits any more: this rejection must not be reported as unhandled.
  p.reject(new Error("late failure"));
  await new Promise((resolve) => setTimeout(resolve, 0));
});

Deno.test("wait(fn) hands fn a signal that aborts with the CancelledError when the task is cancelled", async () => {
  let seen: AbortSignal | undefined;
  await run(async () => {
    const t = await spawn(() =>
      wait((signal) => {
        seen = signal;
        return pending<void>(signal).promise;
      })
    );
    assert.equal(seen!.aborted, false);
    await t.cancel();
    assert.equal(seen!.aborted, true);
    assert(seen!.reason instanceof CancelledError, "the reason is the curio error");
    assert(t.exception instanceof CancelledError);
  });
});

Deno.test("wait(fn) hands fn a signal that aborts with the block's TaskTimeout", async () => {
  let seen: AbortSignal | undefined;
  await run(async () => {
    const r = await ignoreAfter(1, () =>
      wait((signal) => {
        seen = signal;
        return pending<string>(signal).promise;
      }), { timeoutResult: "timed out" });
    assert.equal(r, "timed out");
  }, virtual());
  assert(seen!.reason instanceof TaskTimeout);
});

Deno.test("wait() rejects what is neither a promise nor a function, and refuses to run outside a task", async () => {
  await run(async () => {
    await assert.rejects(wait(42 as never), /Cannot wait: expected a promise .* received number/);
    await assert.rejects(wait((() => 1) as never), TypeError);
  });
  await assert.rejects(wait(Promise.resolve()), CurioError);
});

Deno.test("currentSignal(): the task's signal outside timeout blocks, each block's inside; outside a task it throws", async () => {
  assert.throws(() => currentSignal(), CurioError);
  await run(async () => {
    const t = await spawn(async () => {
      const own = currentSignal();
      let inBlock: AbortSignal | undefined;
      await timeoutAfter(10, async () => {
        inBlock = currentSignal();
        await sleep(1);
      });
      assert.notEqual(inBlock, own, "a block has a signal of its own");
      assert.equal(inBlock!.aborted, false, "a block left in time does not abort its signal");
      assert.equal(currentSignal(), own, "after the block, the task's signal again");
      return own;
    });
    assert.equal(await t.join(), t.signal, "outside blocks it is task.signal");
  }, virtual());
});

Deno.test("currentSignal(): an outer deadline aborts the inner blocks' signals; an inner expiry leaves the outer's alone", async () => {
  await run(async () => {
    const signals: Record<string, AbortSignal> = {};
    await assert.rejects(
      timeoutAfter(5, async () => {
        signals.outer = currentSignal();
        await ignoreAfter(1, async () => {
          signals.inner = currentSignal();
          await sleep(2);
        });
        assert.equal(signals.inner!.aborted, true, "the inner block expired");
        assert.equal(signals.outer!.aborted, false, "the outer block's time is not up");
        await timeoutAfter(10, async () => {
          signals.second = currentSignal();
          await sleep(10);
        });
      }),
      TaskTimeout,
    );
    assert(signals.outer!.reason instanceof TaskTimeout);
    assert.equal(
      signals.second!.reason,
      signals.outer!.reason,
      "the outer deadline aborts the inner signal",
    );
  }, virtual());
});

Deno.test("currentSignal() passed to fetch inside timeoutAfter: a slow local server request times out with TaskTimeout", async () => {
  const release = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async () => {
    await release.promise;
    return new Response("late");
  });
  try {
    await run(async () => {
      const url = `http://127.0.0.1:${server.addr.port}/`;
      await assert.rejects(
        timeoutAfter(0.05, async () => {
          const response = await fetch(url, { signal: currentSignal() });
          return await response.text();
        }),
        TaskTimeout,
      );
      await assert.rejects(
        timeoutAfter(0.05, () => wait((signal) => fetch(url, { signal }))),
        TaskTimeout,
      );
    });
  } finally {
    release.resolve();
    await server.shutdown();
  }
});

Deno.test("a timeout that finds a task awaiting a plain promise: FOREIGN_WAIT, one line pointing to wait(), raised at the next blocking operation", async () => {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => lines.push(args.join(" "));
  try {
    await run(async () => {
      const p = pending<void>();
      const t = await spawn(() =>
        timeoutAfter(0.01, async () => {
          await p.promise; // the kernel cannot reach this
          await sleep(0); // the timeout lands here
          return "returned normally";
        })
      );
      // Real time: under MockClock a task in a foreign wait (it may wait on
      // real I/O) rightly keeps virtual time from jumping.
      await sleep(0.05);
      assert.equal(t.state, "FOREIGN_WAIT");
      p.resolve();
      await assert.rejects(t.join(), (e: unknown) => (e as Error).cause instanceof TaskTimeout);
    });
  } finally {
    console.error = original;
  }
  assert.equal(lines.length, 1, `one line, not ${lines.length}: ${lines.join(" | ")}`);
  assert.match(
    lines[0]!,
    /task \d+ \(timeoutAfter\) was timed out while it awaited a promise the kernel does not know.*wait\(\).*currentSignal\(\)/,
  );
});

Deno.test("a task that took its signal is not told about the foreign wait (its promise can be aborted)", async () => {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => lines.push(args.join(" "));
  try {
    await run(async () => {
      const t = await spawn(() =>
        ignoreAfter(0.01, async () => {
          await pending<void>(currentSignal()).promise;
        })
      );
      await t.join();
    });
  } finally {
    console.error = original;
  }
  assert.deepEqual(lines, []);
});
