// How a kernel starts, fails and ends: a failing main never hangs, run() is
// refused where it cannot work, shutdown never waits forever on a task the
// kernel cannot reach, and a timeout says what was asked for.

import assert from "node:assert/strict";
import {
  CancelledError,
  clock,
  CurioError,
  ignoreAfter,
  Kernel,
  MockClock,
  run,
  sleep,
  spawn,
  TaskTimeout,
  timeoutAfter,
  timeoutAt,
} from "@curio/curio";

const virtual = () => ({ clock: new MockClock({ autojump: 0 }) });

/** Collects console.error lines while `body` runs. */
async function stderrOf(body: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => lines.push(args.map(String).join(" "));
  try {
    await body();
  } finally {
    console.error = original;
  }
  return lines;
}

Deno.test("a failing main cancels the other tasks (newest first, each awaited) and run() rejects with its error", async () => {
  const trace: string[] = [];
  const boom = new Error("main failed");
  const lines = await stderrOf(async () => {
    const err = await run(async () => {
      for (const name of ["server", "ticker"]) {
        await spawn(async function forever() {
          try {
            await sleep(3600);
          } finally {
            await sleep(1); // cleanup that blocks: still awaited
            trace.push(`${name} cleaned up`);
          }
        }, { name });
      }
      await sleep(1);
      throw boom;
    }, virtual()).catch((e) => e);
    assert.equal(err, boom, "run() rejects with main's own error object");
  });
  assert.deepEqual(trace, ["ticker cleaned up", "server cleaned up"]);
  assert.equal(lines.length, 1, lines.join(" | "));
  assert.match(
    lines[0]!,
    /main failed \(Error: main failed\); cancelling 2 task\(s\): \d+ \(ticker\), \d+ \(server\)/,
  );
});

Deno.test("a failing main with logErrors: false cancels the rest silently", async () => {
  const lines = await stderrOf(async () => {
    await assert.rejects(
      run(async () => {
        await spawn(() => sleep(3600));
        throw new RangeError("no");
      }, { ...virtual(), logErrors: false }),
      RangeError,
    );
  });
  assert.deepEqual(lines, []);
});

Deno.test("run() inside a task throws CurioError saying to spawn a task instead", async () => {
  await run(async () => {
    await assert.rejects(
      run(async () => 1),
      (e: unknown) =>
        e instanceof CurioError && /inside a task.*spawn a task instead/.test(e.message),
    );
    const k = new Kernel();
    await assert.rejects(k.run(async () => 1), CurioError);
  });
});

Deno.test("a Kernel that has shut down refuses to run again; shutting down twice is harmless", async () => {
  const kernel = new Kernel();
  assert.equal(await kernel.run(async () => 1, { shutdown: true }), 1);
  await assert.rejects(
    kernel.run(async () => 2),
    (e: unknown) => e instanceof CurioError && /has shut down; create a new Kernel/.test(e.message),
  );
  assert.equal(await kernel.run(undefined, { shutdown: true }), undefined);
  await kernel[Symbol.asyncDispose]();
});

Deno.test("shutdown abandons a cancelled task stuck in a foreign promise after 1 s, with one warning; its later kernel calls fail at once", async () => {
  const stuck = Promise.withResolvers<void>();
  let later: unknown;
  const lines = await stderrOf(async () => {
    await run(async () => {
      await spawn(async () => {
        await stuck.promise; // ignores every signal
        try {
          await sleep(0);
        } catch (error) {
          later = error;
        }
      }, { daemon: true, name: "stuck" });
    });
  });
  assert.equal(lines.length, 2, lines.join(" | "));
  assert.match(lines[0]!, /task \d+ \(stuck\) was cancelled while it awaited a promise/);
  assert.match(lines[1]!, /abandoned task \d+ \(stuck\) at shutdown: 1 s after its cancel/);
  stuck.resolve();
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert(later instanceof CurioError, "a kernel call after abandonment fails");
  assert.match((later as Error).message, /abandoned at kernel shutdown/);
});

Deno.test("TaskTimeout says the seconds that were asked for, or the deadline", async () => {
  await run(async () => {
    const after = await timeoutAfter(0.35, () => sleep(1)).catch((e) => e);
    assert(after instanceof TaskTimeout);
    assert.equal(after.message, "Timed out after 0.35 s");
    const at = await timeoutAt(12.5, () => sleep(100)).catch((e) => e);
    assert(at instanceof TaskTimeout);
    assert.equal(at.message, "Timed out at deadline 12.5 (clock())");
  }, virtual());
});

Deno.test("a task cancelled inside timeoutAfter: the cancel wins over a deadline that passes during its cleanup", async () => {
  await run(async () => {
    const t = await spawn(() =>
      timeoutAfter(1, async () => {
        try {
          await sleep(10);
        } finally {
          await sleep(2); // past the deadline: the disarmed timeout must not fire
        }
      })
    );
    await sleep(0.5);
    await t.cancel();
    assert(t.exception instanceof CancelledError && !(t.exception instanceof TaskTimeout));
  }, virtual());
});

Deno.test("a cancelled task's cleanup can still bound a wait with a new timeout block", async () => {
  await run(async () => {
    const t = await spawn(async () => {
      try {
        await sleep(3600);
      } finally {
        // The cancel disarmed the deadlines open when it came, not this one.
        const drained = await ignoreAfter(2, () => sleep(3600), { timeoutResult: "gave up" });
        assert.equal(drained, "gave up");
        assert.equal(await clock(), 3);
      }
    });
    await sleep(1);
    await t.cancel();
    assert(t.exception instanceof CancelledError && !(t.exception instanceof TaskTimeout));
  }, virtual());
});
