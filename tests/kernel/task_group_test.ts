import assert from "node:assert/strict";
import {
  CancelledError,
  clock,
  MockClock,
  run,
  sleep,
  spawn,
  type Task,
  TaskGroup,
  TaskTimeout,
  timeoutAfter,
} from "@curio/curio";

const virtual = () => ({ clock: new MockClock({ autojump: 0 }), logErrors: false });

/** A member that sleeps `seconds`, records its end, and returns `value`. */
function sleeper<T>(trace: string[], name: string, seconds: number, value: T) {
  return async (): Promise<T> => {
    try {
      await sleep(seconds);
      trace.push(`${name} done`);
      return value;
    } catch (error) {
      if (error instanceof CancelledError) trace.push(`${name} cancelled`);
      throw error;
    }
  };
}

Deno.test("TaskGroup wait all: join() waits for every member; results in spawn order", async () => {
  const trace: string[] = [];
  await run(async () => {
    const g = new TaskGroup();
    const a = await g.spawn(sleeper(trace, "a", 3, "A"));
    const b = await g.spawn(sleeper(trace, "b", 1, "B"));
    await g.join();
    assert.equal(await clock(), 3);
    assert.deepEqual(g.results, ["A", "B"]);
    assert.deepEqual(g.exceptions, [undefined, undefined]);
    assert.deepEqual(g.tasks, [a, b]);
    assert.equal(g.completed, b, "the first member to finish");
    assert.equal(g.result, "B");
    assert.equal(g.exception, undefined);
  }, virtual());
  assert.deepEqual(trace, ["b done", "a done"]);
});

Deno.test("TaskGroup wait all: a failing member cancels the rest and join() rethrows its error", async () => {
  const trace: string[] = [];
  const boom = new RangeError("boom");
  await run(async () => {
    const g = new TaskGroup();
    const slow = await g.spawn(sleeper(trace, "slow", 100, 1));
    const bad = await g.spawn(async () => {
      await sleep(1);
      throw boom;
    });
    const err = await g.join().catch((e) => e);
    assert.equal(err, boom, "join() must rethrow the member's own error");
    assert.equal(await clock(), 1);
    assert.equal(slow.cancelled, true);
    assert.equal(slow.terminated, true, "members are awaited before join() returns");
    assert.equal(g.completed, bad);
    assert.equal(g.exception, boom);
  }, virtual());
  assert.deepEqual(trace, ["slow cancelled"]);
});

Deno.test("TaskGroup wait all: a member cancelled by someone else does not fail the group", async () => {
  const trace: string[] = [];
  await run(async () => {
    const g = new TaskGroup();
    const victim = await g.spawn(sleeper(trace, "victim", 100, "v"));
    await g.spawn(sleeper(trace, "other", 2, "o"));
    await spawn(async () => {
      await sleep(1);
      await victim.cancel();
    });
    await g.join(); // does not throw
    assert.equal(await clock(), 2);
    assert.deepEqual(g.results, [undefined, "o"]);
    assert(g.exceptions[0] instanceof CancelledError);
  }, virtual());
  assert.deepEqual(trace, ["victim cancelled", "other done"]);
});

Deno.test("TaskGroup wait any: the first member to finish wins, the rest are cancelled", async () => {
  const trace: string[] = [];
  await run(async () => {
    const g = new TaskGroup({ wait: "any" });
    await g.spawn(sleeper(trace, "slow", 5, "S"));
    const fast = await g.spawn(sleeper(trace, "fast", 1, "F"));
    await g.spawn(sleeper(trace, "slower", 9, "X"));
    await g.join();
    assert.equal(g.completed, fast);
    assert.equal(g.result, "F");
    assert.equal(await clock(), 1);
    assert(g.tasks.every((t) => t.terminated));
  }, virtual());
  assert.deepEqual(trace, ["fast done", "slower cancelled", "slow cancelled"]);
});

Deno.test("TaskGroup wait object: the first non-undefined result wins", async () => {
  const trace: string[] = [];
  await run(async () => {
    const g = new TaskGroup({ wait: "object" });
    await g.spawn(sleeper(trace, "nothing", 1, undefined));
    const answer = await g.spawn(sleeper(trace, "answer", 2, 42));
    await g.spawn(sleeper(trace, "late", 3, 7));
    await g.join();
    assert.equal(g.completed, answer);
    assert.equal(g.result, 42);
  }, virtual());
  assert.deepEqual(trace, ["nothing done", "answer done", "late cancelled"]);
});

Deno.test("TaskGroup wait none: members are cancelled at join", async () => {
  const trace: string[] = [];
  await run(async () => {
    const g = new TaskGroup({ wait: "none" });
    await g.spawn(sleeper(trace, "a", 1, 1));
    await g.spawn(sleeper(trace, "b", 1, 2));
    await g.join();
    assert.equal(await clock(), 0);
    assert.equal(g.completed, null);
  }, virtual());
  assert.deepEqual(trace, ["b cancelled", "a cancelled"]);
});

Deno.test("TaskGroup.scope(): a body error cancels and awaits the members, then is rethrown", async () => {
  const trace: string[] = [];
  const oops = new TypeError("body failed");
  await run(async () => {
    let member: Task | undefined;
    const err = await TaskGroup.scope(async (g) => {
      member = await g.spawn(async () => {
        try {
          await sleep(100);
        } finally {
          await sleep(1); // cleanup that blocks still finishes before scope() returns
          trace.push("member cleaned up");
        }
      });
      await sleep(1);
      throw oops;
    }).catch((e) => e);
    trace.push("scope returned");
    assert.equal(err, oops);
    assert.equal(member!.cancelled, true);
  }, virtual());
  assert.deepEqual(trace, ["member cleaned up", "scope returned"]);
});

Deno.test("TaskGroup.scope() returns the body's value after joining", async () => {
  await run(async () => {
    const value = await TaskGroup.scope(async (g) => {
      await g.spawn(() => sleep(2));
      return "body value";
    });
    assert.equal(value, "body value");
    assert.equal(await clock(), 2);
  }, virtual());
});

Deno.test("TaskGroup with await using joins at the end of the block", async () => {
  const trace: string[] = [];
  await run(async () => {
    {
      await using g = new TaskGroup();
      await g.spawn(sleeper(trace, "m", 1, 0));
      trace.push("block ends");
    }
    trace.push("after block");
  }, virtual());
  assert.deepEqual(trace, ["block ends", "m done", "after block"]);
});

Deno.test("TaskGroup.join() cancelled: members are cancelled and awaited first", async () => {
  const trace: string[] = [];
  await run(async () => {
    const g = new TaskGroup();
    await g.spawn(async () => {
      try {
        await sleep(100);
      } finally {
        await sleep(1);
        trace.push("member cleaned up");
      }
    });
    const err = await timeoutAfter(5, () => g.join()).catch((e) => e);
    trace.push("join returned");
    assert(err instanceof TaskTimeout);
    assert(g.tasks.every((t) => t.terminated));
  }, virtual());
  assert.deepEqual(trace, ["member cleaned up", "join returned"]);
});

Deno.test("TaskGroup.nextDone()/nextResult() return members in the order they finish", async () => {
  await run(async () => {
    const g = new TaskGroup();
    await g.spawn(sleeper([], "3", 3, "three"));
    await g.spawn(sleeper([], "1", 1, "one"));
    await g.spawn(async () => {
      await sleep(2);
      throw new RangeError("two failed");
    });
    assert.equal(await g.nextResult(), "one");
    await assert.rejects(g.nextResult(), RangeError);
    // The failure cancelled the last member.
    await assert.rejects(g.nextResult(), CancelledError);
    assert.equal(await g.nextDone(), null);
    await assert.rejects(g.nextResult(), /no member is left/);
    await g.join(); // members already collected: nothing to rethrow
  }, virtual());
});

Deno.test("TaskGroup async iteration yields finished members", async () => {
  await run(async () => {
    const g = new TaskGroup();
    for (const n of [3, 1, 2]) await g.spawn(sleeper([], `${n}`, n, n));
    const order = [];
    for await (const t of g) order.push(t.result);
    assert.deepEqual(order, [1, 2, 3]);
    await g.join();
  }, virtual());
});

Deno.test("TaskGroup.cancelRemaining() cancels running members; daemons are cancelled at join", async () => {
  const trace: string[] = [];
  await run(async () => {
    const g = new TaskGroup();
    const d = await g.spawn(sleeper(trace, "daemon", 1000, 0), { daemon: true });
    await g.spawn(sleeper(trace, "worker", 1000, 0));
    await g.spawn(sleeper(trace, "quick", 0, 0));
    await sleep(1);
    await g.cancelRemaining();
    assert.equal(d.terminated, false, "daemons are not part of cancelRemaining()");
    await g.join();
    assert.equal(d.cancelled, true);
    assert.equal(g.tasks.length, 2, "daemons are not listed in tasks");
  }, virtual());
  assert.deepEqual(trace, ["quick done", "worker cancelled", "daemon cancelled"]);
});

Deno.test("TaskGroup rejects bad input and spawning after join", async () => {
  assert.throws(() => new TaskGroup({ wait: "some" as never }), RangeError);
  await run(async () => {
    const g = new TaskGroup();
    await assert.rejects(g.spawn(Promise.resolve(1) as never), TypeError);
    await g.join();
    await assert.rejects(g.spawn(async () => 1), /already been joined/);
    await g.join(); // joining again does nothing
  });
});

Deno.test("TaskGroup member that finishes before spawn() returns is still collected", async () => {
  await run(async () => {
    const g = new TaskGroup();
    const t = await g.spawn(() => 5 as unknown as Promise<number>);
    await g.join();
    assert.equal(t.result, 5);
    assert.deepEqual(g.results, [5]);
  });
});

Deno.test("TaskGroup: a failing member cancels its siblings at once, before join()", async () => {
  const trace: string[] = [];
  await run(async () => {
    const err = await TaskGroup.scope(async (g) => {
      const sibling = await g.spawn(sleeper(trace, "sibling", 100, 0));
      await g.spawn(async () => {
        await sleep(1);
        throw new RangeError("member failed");
      });
      await sleep(5); // the body is still busy when the member fails
      trace.push(`at 5: sibling terminated ${sibling.terminated}`);
    }).catch((e) => e);
    assert(err instanceof RangeError);
  }, virtual());
  assert.deepEqual(trace, ["sibling cancelled", "at 5: sibling terminated true"]);
});

Deno.test("TaskGroup.nextResult() gathers results as they come when nothing fails", async () => {
  await run(async () => {
    await using g = new TaskGroup();
    for (const n of [3, 1, 2]) await g.spawn(sleeper([], `${n}`, n, n * 10));
    const got = [];
    for (let i = 0; i < 3; i++) got.push(await g.nextResult());
    assert.deepEqual(got, [10, 20, 30]);
  }, virtual());
});
