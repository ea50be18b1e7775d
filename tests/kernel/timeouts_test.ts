import assert from "node:assert/strict";
import {
  CancelledError,
  clock,
  ignoreAfter,
  ignoreAt,
  MockClock,
  run,
  sleep,
  spawn,
  TaskTimeout,
  timeoutAfter,
  timeoutAt,
  TimeoutCancellationError,
  UncaughtTimeoutError,
} from "@curio/curio";

const virtual = () => ({ clock: new MockClock({ autojump: 0 }) });

Deno.test("timeoutAfter() returns the result when the work finishes in time", async () => {
  await run(async () => {
    const r = await timeoutAfter(5, async () => {
      await sleep(4.9);
      return "ok";
    });
    assert.equal(r, "ok");
    assert.equal(await clock(), 4.9);
  }, virtual());
});

Deno.test("timeoutAfter() raises TaskTimeout (a CancelledError) at the deadline", async () => {
  await run(async () => {
    const err = await timeoutAfter(2, () => sleep(10)).catch((e) => e);
    assert(err instanceof TaskTimeout, `expected TaskTimeout, got ${err}`);
    assert(err instanceof CancelledError, "TaskTimeout must be a CancelledError");
    assert.equal(await clock(), 2);
  }, virtual());
});

Deno.test("timeoutAfter() cancels kernel operations however deeply nested", async () => {
  await run(async () => {
    async function deeper(): Promise<void> {
      const child = await spawn(() => sleep(100));
      try {
        await child.join(); // the caller's timeout applies here
      } finally {
        await child.cancel();
      }
    }
    await assert.rejects(timeoutAfter(3, async () => await deeper()), TaskTimeout);
    assert.equal(await clock(), 3);
  }, virtual());
});

Deno.test("ignoreAfter() returns undefined, or timeoutResult, on timeout", async () => {
  await run(async () => {
    assert.equal(await ignoreAfter(1, () => sleep(5)), undefined);
    assert.equal(await ignoreAfter(1, () => sleep(5), { timeoutResult: "late" }), "late");
    assert.equal(await ignoreAfter(10, async () => "quick"), "quick");
  }, virtual());
});

Deno.test("timeoutAt() and ignoreAt() take absolute kernel-clock deadlines", async () => {
  await run(async () => {
    await sleep(10);
    await assert.rejects(timeoutAt(12, () => sleep(5)), TaskTimeout);
    assert.equal(await clock(), 12);
    assert.equal(await ignoreAt(13, () => sleep(5), { timeoutResult: 0 }), 0);
    assert.equal(await clock(), 13);
  }, virtual());
});

Deno.test("nested timeouts: an outer deadline shows as TimeoutCancellationError inside, TaskTimeout outside", async () => {
  await run(async () => {
    let inner: unknown;
    const outer = await timeoutAfter(1, async () => {
      try {
        await timeoutAfter(5, () => sleep(10));
      } catch (e) {
        inner = e;
        throw e;
      }
    }).catch((e) => e);
    assert(inner instanceof TimeoutCancellationError, `inner block saw ${inner}`);
    assert(outer instanceof TaskTimeout, `outer block raised ${outer}`);
    assert.equal(await clock(), 1);
  }, virtual());
});

Deno.test("nested timeouts: an inner timeout caught inside leaves the outer block running", async () => {
  await run(async () => {
    const r = await timeoutAfter(10, async () => {
      try {
        await timeoutAfter(1, () => sleep(5));
      } catch (e) {
        assert(e instanceof TaskTimeout);
      }
      await sleep(2); // the outer deadline is still 10
      return "outer finished";
    });
    assert.equal(r, "outer finished");
    assert.equal(await clock(), 3);
  }, virtual());
});

Deno.test("nested timeouts: an inner TaskTimeout escaping into an unexpired outer block is UncaughtTimeoutError", async () => {
  await run(async () => {
    const err = await timeoutAfter(10, () => timeoutAfter(1, () => sleep(5))).catch((e) => e);
    assert(err instanceof UncaughtTimeoutError, `expected UncaughtTimeoutError, got ${err}`);
    assert(err.cause instanceof TaskTimeout);
  }, virtual());
});

Deno.test("nested timeouts expiring together: the outermost reports TaskTimeout", async () => {
  await run(async () => {
    let inner: unknown;
    const err = await timeoutAfter(2, async () => {
      try {
        await timeoutAfter(2, () => sleep(5));
      } catch (e) {
        inner = e;
        throw e;
      }
    }).catch((e) => e);
    assert(inner instanceof TimeoutCancellationError);
    assert(err instanceof TaskTimeout);
  }, virtual());
});

Deno.test("a block that finishes without blocking again drops its undelivered timeout", async () => {
  await run(async () => {
    const r = await timeoutAfter(1, async () => {
      await sleep(0.5);
      return "done";
    });
    assert.equal(r, "done");
    await sleep(2); // no stray TaskTimeout arrives here
    assert.equal(await clock(), 2.5);
  }, virtual());
});

// A task's first open block ends through shared handlers that find it on the
// task's context; a block opened while another is open ends through its own.
// Whichever settles first, each must close exactly its own block: a block left
// open would still fire its deadline into the task later.
for (const firstEndsFirst of [true, false]) {
  Deno.test(`two timeout blocks side by side in one task each close their own (the first opened ends ${firstEndsFirst ? "first" : "last"})`, async () => {
    await run(async () => {
      const [a, b] = await Promise.all([
        timeoutAfter(10, async () => {
          await sleep(firstEndsFirst ? 1 : 2);
          return "first";
        }),
        timeoutAfter(10, async () => {
          await sleep(firstEndsFirst ? 2 : 1);
          return "second";
        }),
      ]);
      assert.deepEqual([a, b], ["first", "second"]);
      await sleep(20); // past both deadlines: neither block is still open
      assert.equal(await clock(), 22);
      // A block opened afterwards ends through the shared handlers again.
      assert.equal(await ignoreAfter(1, () => sleep(5)), undefined);
      assert.equal(await clock(), 23);
    }, virtual());
  });
}

Deno.test("a timeout block whose function settles after its task ended still returns its result", async () => {
  // The block's function awaits a promise the kernel does not know, and its
  // task ends first (a plain function that returned): the block's outcome
  // arrives later, with no task left to find the block on.
  let release!: () => void;
  const foreign = new Promise<void>((resolve) => release = resolve);
  const outcomes: unknown[] = [];
  await run(async () => {
    const task = await spawn(() => {
      void timeoutAfter(10, async () => {
        await foreign;
        return "late result";
      }).then((value) => outcomes.push(value), (error) => outcomes.push(error));
      void ignoreAfter(10, async () => {
        await foreign;
        throw new Error("late failure");
      }).catch((error) => outcomes.push((error as Error).message));
      return "ended";
    });
    assert.equal(await task.join(), "ended");
    release();
    await foreign;
    for (let i = 0; i < 5; i++) await sleep(0);
  });
  assert.deepEqual(outcomes, ["late result", "late failure"]);
});

Deno.test("timeouts validate their arguments", async () => {
  await run(async () => {
    await assert.rejects(timeoutAfter(NaN, () => sleep(1)), RangeError);
    await assert.rejects(timeoutAfter(-1, () => sleep(1)), RangeError);
    await assert.rejects(timeoutAfter("1" as never, () => sleep(1)), TypeError);
    await assert.rejects(
      timeoutAfter(1, sleep(1) as never),
      (e: unknown) => e instanceof TypeError && /\(\) => op\(x\)/.test(e.message),
    );
    await assert.rejects(timeoutAt(NaN, () => sleep(1)), RangeError);
  }, virtual());
});

Deno.test("timeouts on a real clock fire too", async () => {
  await run(async () => {
    await assert.rejects(timeoutAfter(0.01, () => sleep(10)), TaskTimeout);
  });
});

Deno.test("20k concurrent timeouts all complete in time or expire, none lost", async () => {
  await run(async () => {
    let inTime = 0;
    let expired = 0;
    const tasks = [];
    for (let i = 0; i < 20_000; i++) {
      tasks.push(
        await spawn(async () => {
          const r = await ignoreAfter(i % 2 === 0 ? 1 : 3, async () => {
            await sleep(2);
            return true;
          });
          if (r) inTime++;
          else expired++;
        }),
      );
    }
    for (const t of tasks) await t.join();
    assert.equal(inTime, 10_000);
    assert.equal(expired, 10_000);
  }, virtual());
});
