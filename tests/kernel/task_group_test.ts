import assert from "node:assert/strict";
import {
  CancelledError,
  clock,
  CurioError,
  MockClock,
  run,
  sleep,
  spawn,
  type Task,
  TaskError,
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

Deno.test("TaskGroup.nextDone()/nextResult() return members in the order they finish; a failure they collect cancels nobody", async () => {
  const trace: string[] = [];
  await run(async () => {
    const g = new TaskGroup();
    await g.spawn(sleeper(trace, "3", 3, "three"));
    await g.spawn(sleeper(trace, "1", 1, "one"));
    await g.spawn(async () => {
      await sleep(2);
      throw new RangeError("two failed");
    });
    assert.equal(await g.nextResult(), "one");
    await assert.rejects(g.nextResult(), RangeError);
    assert.equal(await clock(), 2);
    // The failure was collected by the program: the last member runs on.
    assert.equal(await g.nextResult(), "three");
    assert.equal(await clock(), 3);
    assert.equal(await g.nextDone(), null);
    await assert.rejects(g.nextResult(), /no member is left/);
    assert.deepEqual(g.tasks, [], "every member was collected one by one");
    await g.join(); // members already collected: nothing to rethrow
    assert.deepEqual(g.results, []);
    assert.equal(g.completed, null);
  }, virtual());
  assert.deepEqual(trace, ["1 done", "3 done"]);
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

Deno.test("TaskGroup.scope(): a member failing while the body runs is acted on when the join collects it", async () => {
  const trace: string[] = [];
  const failure = new RangeError("member failed");
  await run(async () => {
    const err = await TaskGroup.scope(async (g) => {
      const sibling = await g.spawn(sleeper(trace, "sibling", 100, 0));
      await g.spawn(async () => {
        await sleep(1);
        trace.push("member fails");
        throw failure;
      });
      await sleep(5); // the body is still busy when the member fails
      trace.push(`at ${await clock()}: sibling terminated ${sibling.terminated}`);
    }).catch((e) => e);
    trace.push(`scope threw at ${await clock()}`);
    assert.equal(err, failure);
  }, virtual());
  assert.deepEqual(trace, [
    "member fails",
    "at 5: sibling terminated false",
    "sibling cancelled",
    "scope threw at 5",
  ]);
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

/** A member that sleeps `seconds`, records it, and throws `error`. */
function failer(trace: string[], name: string, seconds: number, error: unknown) {
  return async (): Promise<never> => {
    await sleep(seconds);
    trace.push(`${name} fails`);
    throw error;
  };
}

Deno.test("TaskGroup: a member's own join() collects its failure; the group keeps the others and cancels nobody", async () => {
  const trace: string[] = [];
  const flakyError = new Error("flaky");
  await run(async () => {
    const g = new TaskGroup();
    const a = await g.spawn(sleeper(trace, "a", 3, "A"));
    const flaky = await g.spawn(failer(trace, "flaky", 1, flakyError));
    const b = await g.spawn(sleeper(trace, "b", 2, "B"));
    const err = await flaky.join().catch((e) => e);
    assert(err instanceof TaskError, "the member's join() raises TaskError");
    assert.equal(err.cause, flakyError);
    trace.push(`handled at ${await clock()}`);
    assert.deepEqual(g.tasks, [a, b], "the collected member left the group");
    await g.join(); // does not throw: the failure was the program's
    assert.equal(await clock(), 3);
    assert.deepEqual(g.results, ["A", "B"]);
    assert.deepEqual(g.exceptions, [undefined, undefined]);
    assert.equal(g.completed, b);
    assert.equal(g.exception, undefined);
  }, virtual());
  assert.deepEqual(trace, ["flaky fails", "handled at 1", "b done", "a done"]);
});

Deno.test("TaskGroup: a member's own wait() collects it too; it leaves the group even if it failed", async () => {
  const trace: string[] = [];
  await run(async () => {
    await using g = new TaskGroup();
    const keeper = await g.spawn(sleeper(trace, "keeper", 2, "K"));
    const bad = await g.spawn(failer(trace, "bad", 1, new RangeError("bad")));
    await bad.wait();
    trace.push(`waited at ${await clock()}`);
    assert.deepEqual(g.tasks, [keeper]);
    assert(bad.exception instanceof RangeError);
  }, virtual());
  assert.deepEqual(trace, ["bad fails", "waited at 1", "keeper done"]);
});

Deno.test("TaskGroup: for await collects failures one by one; join() then rethrows nothing", async () => {
  const trace: string[] = [];
  await run(async () => {
    const g = new TaskGroup();
    await g.spawn(sleeper(trace, "slow", 3, "S"));
    await g.spawn(failer(trace, "bad", 1, new RangeError("bad")));
    await g.spawn(sleeper(trace, "mid", 2, "M"));
    for await (const t of g) {
      trace.push(
        `got ${t.exception instanceof RangeError ? "error" : t.result} at ${await clock()}`,
      );
    }
    await g.join();
    assert.deepEqual(g.tasks, []);
    assert.deepEqual(g.results, []);
  }, virtual());
  assert.deepEqual(trace, [
    "bad fails",
    "got error at 1",
    "mid done",
    "got M at 2",
    "slow done",
    "got S at 3",
  ]);
});

Deno.test("TaskGroup.join(): a member that failed before join() was called fails the group when join() starts", async () => {
  const trace: string[] = [];
  const failure = new RangeError("early failure");
  await run(async () => {
    const g = new TaskGroup();
    const slow = await g.spawn(sleeper(trace, "slow", 100, 0));
    const bad = await g.spawn(failer(trace, "bad", 1, failure));
    await sleep(5); // nobody cancels anything behind the owner's back meanwhile
    trace.push(`at 5: slow running ${!slow.terminated}`);
    const err = await g.join().catch((e) => e);
    trace.push(`join threw at ${await clock()}`);
    assert.equal(err, failure);
    assert.equal(g.completed, bad);
    assert.equal(g.exception, failure);
    assert.deepEqual(g.tasks, [slow, bad], "members collected by join() stay in the group");
    assert(g.exceptions[0] instanceof CancelledError);
    assert.equal(g.exceptions[1], failure);
    assert.equal(await g.nextDone(), null, "the join collected every member");
    assert.deepEqual(g.tasks, [slow, bad]);
  }, virtual());
  assert.deepEqual(trace, [
    "bad fails",
    "at 5: slow running true",
    "slow cancelled",
    "join threw at 5",
  ]);
});

Deno.test("TaskGroup.join(): members that finished before join() are collected in the order they finished", async () => {
  const trace: string[] = [];
  await run(async () => {
    const any = new TaskGroup({ wait: "any" });
    await any.spawn(sleeper(trace, "two", 2, 2));
    const one = await any.spawn(sleeper(trace, "one", 1, 1));
    await any.spawn(sleeper(trace, "late", 9, 9));
    await sleep(3);
    await any.join();
    assert.equal(any.completed, one);
    assert.equal(any.result, 1);

    // A success that finished before a failure is the winner; the failure still fails the join.
    const failure = new RangeError("second");
    const all = new TaskGroup();
    const first = await all.spawn(sleeper(trace, "first", 1, "F"));
    await all.spawn(failer(trace, "second", 2, failure));
    await all.spawn(sleeper(trace, "third", 9, "T"));
    await sleep(3);
    await assert.rejects(all.join(), (e) => e === failure);
    assert.equal(all.completed, first);
    assert.equal(all.result, "F");
    assert.equal(all.exception, failure);
  }, virtual());
  assert.deepEqual(trace, [
    "one done",
    "two done",
    "late cancelled",
    "first done",
    "second fails",
    "third cancelled",
  ]);
});

Deno.test("TaskGroup wait none: join() still collects members that had already failed", async () => {
  const trace: string[] = [];
  const failure = new RangeError("failed early");
  await run(async () => {
    const g = new TaskGroup({ wait: "none" });
    await g.spawn(failer(trace, "bad", 1, failure));
    await g.spawn(sleeper(trace, "long", 9, 0));
    await sleep(2);
    await assert.rejects(g.join(), (e) => e === failure);
    assert.equal(await clock(), 2);
  }, virtual());
  assert.deepEqual(trace, ["bad fails", "long cancelled"]);
});

Deno.test("TaskGroup with await using: a member failing inside the block fails the group at the end of the block", async () => {
  const trace: string[] = [];
  const failure = new RangeError("member failed");
  await run(async () => {
    const err = await (async () => {
      await using g = new TaskGroup();
      await g.spawn(sleeper(trace, "sibling", 100, 0));
      await g.spawn(failer(trace, "bad", 1, failure));
      await sleep(4);
      trace.push("block ends");
    })().catch((e) => e);
    trace.push(`disposal threw at ${await clock()}`);
    assert.equal(err, failure);
  }, virtual());
  assert.deepEqual(trace, ["bad fails", "block ends", "sibling cancelled", "disposal threw at 4"]);
});

Deno.test("TaskGroup.scope(): the body may collect a failure itself with nextResult() and carry on", async () => {
  const trace: string[] = [];
  await run(async () => {
    const g = await TaskGroup.scope(async (g) => {
      await g.spawn(sleeper(trace, "worker", 2, "W"));
      await g.spawn(failer(trace, "bad", 1, new RangeError("bad")));
      const err = await g.nextResult().catch((e) => e);
      trace.push(`handled ${(err as Error).message} at ${await clock()}`);
      return g;
    });
    assert.deepEqual(g.results, ["W"]);
  }, virtual());
  assert.deepEqual(trace, ["bad fails", "handled bad at 1", "worker done"]);
});

Deno.test("TaskGroup properties read before join() throw CurioError saying to call join() first", async () => {
  await run(async () => {
    const g = new TaskGroup();
    await g.spawn(sleeper([], "m", 1, "M"));
    await sleep(2);
    for (const read of [() => g.results, () => g.exceptions, () => g.result, () => g.exception]) {
      assert.throws(read, (e) => e instanceof CurioError && /call join\(\) first/.test(e.message));
    }
    assert.equal(g.tasks.length, 1, "tasks may be read at any time");
    await g.join();
    assert.deepEqual(g.results, ["M"]);
    assert.equal(g.result, "M");
  }, virtual());
});

Deno.test("TaskGroup.result rethrows the error of a winner that failed", async () => {
  const failure = new RangeError("winner failed");
  await run(async () => {
    const g = new TaskGroup({ wait: "any" });
    await g.spawn(failer([], "bad", 1, failure));
    await g.spawn(sleeper([], "slow", 5, "S"));
    await assert.rejects(g.join(), (e) => e === failure);
    assert.throws(() => g.result, (e) => e === failure);
    assert.equal(g.exception, failure);
  }, virtual());
});

Deno.test("TaskGroup.result throws CurioError when no member won", async () => {
  await run(async () => {
    const empty = new TaskGroup();
    await empty.join();
    assert.throws(
      () => empty.result,
      (e) => e instanceof CurioError && /no member won/.test(e.message),
    );
    assert.equal(empty.exception, undefined);
    assert.deepEqual(empty.results, []);

    // Every member collected by the program: none is left to win.
    const g = new TaskGroup();
    const t = await g.spawn(sleeper([], "m", 1, "M"));
    assert.equal(await t.join(), "M");
    await g.join();
    assert.throws(() => g.result, CurioError);

    // Every member cancelled by someone else: no winner either.
    const h = new TaskGroup();
    const victim = await h.spawn(sleeper([], "v", 9, "V"));
    await spawn(() => victim.cancel());
    await h.join();
    assert.throws(() => h.result, CurioError);
    assert.deepEqual(h.tasks, [victim]);
  }, virtual());
});

Deno.test("TaskGroup: a member the program joined before join() has left the group; join() does not wait for it or count it", async () => {
  const trace: string[] = [];
  await run(async () => {
    const g = new TaskGroup();
    const a = await g.spawn(sleeper(trace, "a", 1, "A"));
    const b = await g.spawn(sleeper(trace, "b", 3, "B"));
    // Collected by the program before the group's join() starts waiting.
    await spawn(async () => {
      trace.push(`observer got ${await a.join()}`);
    });
    await sleep(2);
    await g.join();
    assert.deepEqual(g.tasks, [b]);
    assert.deepEqual(g.results, ["B"]);
    assert.equal(g.completed, b);
  }, virtual());
  assert.deepEqual(trace, ["a done", "observer got A", "b done"]);
});
