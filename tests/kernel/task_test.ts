import assert from "node:assert/strict";
import {
  CancelledError,
  clock,
  currentTask,
  MockClock,
  run,
  sleep,
  spawn,
  type Task,
  TaskError,
} from "@curio/curio";
import { _rescheduleTasks, _waitOnQueue, KernelQueue } from "@curio/curio/traps";

const virtual = () => ({ clock: new MockClock({ autojump: 0 }) });

Deno.test("spawn() runs the child up to its first blocking point before returning", async () => {
  const trace: string[] = [];
  await run(async () => {
    const t = await spawn(async () => {
      trace.push("child starts");
      await sleep(0);
      trace.push("child resumes");
    });
    trace.push("parent after spawn");
    await t.join();
  });
  assert.deepEqual(trace, ["child starts", "parent after spawn", "child resumes"]);
});

Deno.test("spawn() rejects a Promise or a number with a TypeError showing spawn(() => f(x))", async () => {
  await run(async () => {
    const started = (async () => 1)();
    await assert.rejects(
      spawn(started as never),
      (e: unknown) =>
        e instanceof TypeError && /Promise/.test(e.message) &&
        /\(\) => child\(x\)/.test(e.message),
    );
    await assert.rejects(
      spawn(42 as never),
      (e: unknown) => e instanceof TypeError && /number/.test(e.message),
    );
  });
});

Deno.test("Task attributes: id, name, coro, daemon, state, cycles, result, terminated", async () => {
  await run(async () => {
    async function worker(): Promise<string> {
      await sleep(1);
      await sleep(1);
      return "done";
    }
    const a = await spawn(worker);
    const b = await spawn(() => sleep(5), { name: "sleeper", daemon: true });
    assert(b.id > a.id, "task ids must increase");
    assert.equal(a.name, "worker");
    assert.equal(b.name, "sleeper");
    assert.equal(a.coro, worker);
    assert.equal(a.daemon, false);
    assert.equal(b.daemon, true);
    assert.equal(a.state, "TIME_SLEEP");
    assert.equal(a.terminated, false);
    assert.equal(a.result, undefined);
    assert.equal(await a.join(), "done");
    assert.equal(a.state, "TERMINATED");
    assert.equal(a.terminated, true);
    assert.equal(a.result, "done");
    assert.equal(a.exception, undefined);
    assert.equal(a.cycles, 2, "resumed once after each sleep");
    assert.equal(a.cancelled, false);
    assert.match(String(a), /^Task\(\d+, "worker", TERMINATED\)$/);
  }, virtual());
});

Deno.test("Task.join() raises TaskError whose cause is the task's error", async () => {
  await run(async () => {
    const boom = new SyntaxError("boom");
    const t = await spawn(async () => {
      await sleep(0);
      throw boom;
    });
    const err = await t.join().catch((e) => e);
    assert(err instanceof TaskError, "join() must wrap the failure in TaskError");
    assert.equal(err.cause, boom);
    assert.equal(t.exception, boom);
  }, { logErrors: false });
});

Deno.test("Task.join() of a cancelled task raises TaskError caused by CancelledError", async () => {
  await run(async () => {
    const t = await spawn(() => sleep(100));
    await t.cancel();
    const err = await t.join().catch((e) => e);
    assert(err instanceof TaskError);
    assert(err.cause instanceof CancelledError);
    assert(t.exception instanceof CancelledError);
  }, virtual());
});

Deno.test("Task.wait() waits without raising the task's error", async () => {
  await run(async () => {
    const t = await spawn(async () => {
      await sleep(1);
      throw new Error("x");
    });
    await t.wait();
    assert.equal(t.terminated, true);
    assert.equal(t.state, "TERMINATED");
  }, { ...virtual(), logErrors: false });
});

Deno.test("Task.cancel() raises CancelledError where the task blocks and waits for its finally", async () => {
  const trace: string[] = [];
  await run(async () => {
    const t = await spawn(async () => {
      try {
        await sleep(100);
        trace.push("not reached");
      } catch (e) {
        trace.push(e instanceof CancelledError ? "cancelled" : "wrong error");
        throw e;
      } finally {
        await sleep(1); // finally blocks are ordinary code, even blocking ones
        trace.push("finally done");
      }
    });
    assert.equal(await t.cancel(), true);
    trace.push("cancel returned");
    assert.equal(t.cancelled, true);
    assert.equal(t.terminated, true);
  }, virtual());
  assert.deepEqual(trace, ["cancelled", "finally done", "cancel returned"]);
});

Deno.test("Task.cancel() of a finished task returns false", async () => {
  await run(async () => {
    const t = await spawn(async () => 1);
    await t.join();
    assert.equal(await t.cancel(), false);
    assert.equal(t.cancelled, false);
  });
});

Deno.test("a second cancel() waits and does not interrupt the target's cleanup", async () => {
  const trace: string[] = [];
  await run(async () => {
    const t = await spawn(async () => {
      try {
        await sleep(100);
      } finally {
        await sleep(5);
        trace.push("cleanup finished");
      }
    });
    const first = await spawn(async () => {
      trace.push(`first: ${await t.cancel()}`);
    });
    const second = await spawn(async () => {
      await sleep(1);
      trace.push(`second: ${await t.cancel()}`);
    });
    await first.join();
    await second.join();
  }, virtual());
  assert.deepEqual(trace, ["cleanup finished", "first: true", "second: false"]);
});

Deno.test("a cancel that arrives while the task is not blocked is raised at its next blocking call", async () => {
  const trace: string[] = [];
  await run(async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => open = resolve);
    const t = await spawn(async () => {
      await gate; // a foreign promise: not a kernel operation, not cancellable
      trace.push("past the gate");
      try {
        await sleep(0);
        trace.push("not reached");
      } catch (e) {
        trace.push(e instanceof CancelledError ? "cancelled at sleep" : "wrong");
        throw e;
      }
    });
    const canceller = await spawn(() => t.cancel());
    open();
    assert.equal(await canceller.join(), true);
  });
  assert.deepEqual(trace, ["past the gate", "cancelled at sleep"]);
});

Deno.test("operations that complete at once are not cancellation points", async () => {
  await run(async () => {
    const done = await spawn(async () => "finished");
    await done.join();
    const trace: string[] = [];
    let open!: () => void;
    const gate = new Promise<void>((resolve) => open = resolve);
    const t = await spawn(async () => {
      await gate;
      trace.push(`join: ${await done.join()}`); // completes at once: no cancel here
      trace.push(`task: ${(await currentTask()).name}`);
      await sleep(0); // the pending cancel lands here
      trace.push("not reached");
    }, { name: "victim" });
    const canceller = await spawn(() => t.cancel());
    open();
    await canceller.join();
    assert.deepEqual(trace, ["join: finished", "task: victim"]);
  });
});

Deno.test("sleep(0) is always a cancellation point", async () => {
  await run(async () => {
    const t = await spawn(async () => {
      for (;;) await sleep(0);
    });
    assert.equal(await t.cancel(), true);
    assert(t.exception instanceof CancelledError);
  });
});

Deno.test("a task may cancel itself: CancelledError is raised at the cancel() call", async () => {
  const trace: string[] = [];
  await run(async () => {
    const t = await spawn(async () => {
      const me = await currentTask();
      try {
        await me.cancel();
        trace.push("not reached");
      } catch (e) {
        trace.push(e instanceof CancelledError ? "self-cancelled" : "wrong");
        throw e;
      }
    });
    await t.wait();
    assert.equal(t.cancelled, true);
  });
  assert.deepEqual(trace, ["self-cancelled"]);
});

Deno.test("cancelling a task blocked in Promise.all of two waits cancels both, leaking none", async () => {
  await run(async () => {
    const q1 = new KernelQueue();
    const q2 = new KernelQueue();
    const errors: unknown[] = [];
    const t = await spawn(async () => {
      const a = _waitOnQueue(q1, "A").catch((e) => {
        errors.push(e);
        throw e;
      });
      const b = _waitOnQueue(q2, "B").catch((e) => {
        errors.push(e);
        throw e;
      });
      await Promise.all([a, b]);
    });
    assert.equal(q1.length + q2.length, 2);
    await t.cancel();
    assert.equal(q1.length, 0, "first wait must be unlinked");
    assert.equal(q2.length, 0, "second wait must be unlinked");
    assert.equal(errors.length, 2);
    assert(errors.every((e) => e instanceof CancelledError));
  });
});

Deno.test("Task.signal aborts when the task is cancelled, for foreign APIs", async () => {
  await run(async () => {
    let seen: AbortSignal | undefined;
    const t = await spawn(async () => {
      seen = (await currentTask()).signal;
      await sleep(100);
    });
    assert.equal(seen!.aborted, false);
    await t.cancel();
    assert.equal(seen!.aborted, true);
    assert(seen!.reason instanceof CancelledError);
    // Asked for after the cancel: already aborted.
    assert.equal(t.signal.aborted, true);
  }, virtual());
});

Deno.test("Task.join() on itself is refused rather than deadlocking", async () => {
  await run(async () => {
    let me!: Task;
    const t = await spawn(async () => {
      me = await currentTask();
      await me.join();
    });
    await t.wait();
    assert(t.exception instanceof Error && /cannot wait for itself/.test(t.exception.message));
  }, { logErrors: false });
});

Deno.test("sleep() validates its argument", async () => {
  await run(async () => {
    await assert.rejects(sleep("1" as never), TypeError);
    await assert.rejects(sleep(NaN), RangeError);
    await assert.rejects(sleep(-1), RangeError);
    await assert.rejects(sleep(Infinity), RangeError);
  });
});

Deno.test("sleep() sleeps on the kernel clock; state is TIME_SLEEP", async () => {
  await run(async () => {
    const t = await spawn(() => sleep(2.5));
    assert.equal(t.state, "TIME_SLEEP");
    await t.join();
    assert.equal(await clock(), 2.5);
  }, virtual());
});

Deno.test("Task.parentId is the spawning task's id, undefined for main", async () => {
  await run(async () => {
    const main = await currentTask();
    assert.equal(main.parentId, undefined, "main has no parent");
    const child = await spawn(async () => {
      const grandchild = await spawn(() => sleep(0));
      await grandchild.join();
      return grandchild.parentId;
    });
    assert.equal(child.parentId, main.id, "a child records its spawner");
    assert.equal(await child.join(), child.id, "a grandchild records the child");
  });
});

Deno.test("Task.name defaults to the function's name, else the first call in an arrow's body, else task", async () => {
  async function sleeper(seconds: number): Promise<void> {
    await sleep(seconds);
  }
  const obj = { async poll(): Promise<void> {} };
  await run(async () => {
    const named = await spawn(sleeper.bind(null, 0) as () => Promise<void>);
    const arrow = await spawn(() => sleeper(0));
    const skip = false;
    const block = await spawn(async () => {
      if (skip) return;
      await sleeper(0);
    });
    const method = await spawn(() => obj.poll());
    const bare = await spawn(async () => {});
    const given = await spawn(() => sleeper(0), { name: "given" });
    assert.equal(named.name, "bound sleeper", "fn.name wins");
    assert.equal(arrow.name, "sleeper", "spawn(() => sleeper(0)) is named sleeper");
    assert.equal(block.name, "sleeper", "keywords such as if( and await are skipped");
    assert.equal(method.name, "poll", "a method call is named after the method");
    assert.equal(bare.name, "task", "nothing to go by: task");
    assert.equal(given.name, "given", "the name option wins");
    for (const t of [named, arrow, block, method, bare, given]) await t.join();
  });
});

Deno.test("a task whose function returns its trap's promise (() => _waitOnQueue(q), () => sleep(s)) ends with the trap's outcome", async () => {
  // Such a task ends through handlers the kernel attaches outside the task's
  // context (the others end through handlers that run as the task's code):
  // each outcome must still end it.
  await run(async () => {
    const q = new KernelQueue();
    const woken = await spawn(() => _waitOnQueue(q, "WAITING"));
    const failed = await spawn(() => _waitOnQueue(q, "WAITING"));
    const cancelled = await spawn(() => sleep(3600));
    const slept = await spawn(() => sleep(0));
    await _rescheduleTasks(q, 1, "value");
    await _rescheduleTasks(q, 1, undefined, new RangeError("failed here"));
    assert.equal(await cancelled.cancel(), true, "the sleeping task was live when cancelled");
    assert.equal(await woken.join(), "value", "woken with a value: that is the result");
    await assert.rejects(failed.join(), (e: unknown) => {
      assert.ok(e instanceof TaskError && e.cause instanceof RangeError, `got ${e}`);
      return true;
    });
    await assert.rejects(cancelled.join(), (e: unknown) => {
      assert.ok(e instanceof TaskError && e.cause instanceof CancelledError, `got ${e}`);
      return true;
    });
    assert.equal(await slept.join(), undefined, "sleep(0) ended the task with undefined");
    for (const t of [woken, failed, cancelled, slept]) {
      assert.equal(t.terminated, true, `task ${t.id} terminated`);
    }
  });
});

Deno.test("a task whose function returns a thenable or an async function's promise ends with its outcome", async () => {
  await run(async () => {
    const thenable = await spawn(() =>
      ({
        then(ok: (v: number) => void) {
          ok(7);
        },
      }) as unknown as Promise<number>
    );
    const nested = await spawn(async () => {
      await sleep(0);
      throw new SyntaxError("from an async body");
    });
    assert.equal(await thenable.join(), 7);
    await assert.rejects(nested.join(), (e: unknown) => {
      assert.ok(e instanceof TaskError && e.cause instanceof SyntaxError, `got ${e}`);
      return true;
    });
  }, { logErrors: false });
});
