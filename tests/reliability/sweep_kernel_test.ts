// Cancellation sweep over the kernel's own blocking operations: sleep, join,
// several traps at once, nested timeouts, and the manual's trap-based Lock.

import assert from "node:assert/strict";
import {
  CancelledError,
  sleep,
  TaskTimeout,
  timeoutAfter,
  TimeoutCancellationError,
} from "@curio/curio";
import { _futureWait, _rescheduleTasks, _waitOnQueue, KernelQueue } from "@curio/curio/traps";
import { assertVictimEnd, type Scenario, sweep } from "./_sweep.ts";
import { lockScenario } from "./_scenarios.ts";

const sleeps: Scenario = async (ctx) => {
  let naps = 0;
  const victim = await ctx.spawnVictim("sleeper", async () => {
    const g = ctx.enter("sleeper");
    try {
      for (let i = 0; i < 3; i++) {
        await ctx.step(`sleeper sleep ${i}`, () => sleep(i === 1 ? 0 : 1));
        naps++;
      }
    } finally {
      ctx.leave(g);
    }
  });
  const other = await ctx.spawn("other", async () => {
    for (let i = 0; i < 3; i++) await ctx.step(`other sleep ${i}`, () => sleep(0.5));
    return "other done";
  });
  await victim.wait();
  assert.equal(await other.join(), "other done");
  return () => {
    assertVictimEnd(ctx);
    if (ctx.victim!.exception === undefined) assert.equal(naps, 3);
    else assert(naps < 3, "a cancelled sleeper cannot have finished every nap");
  };
};

Deno.test("sweep: sleep() cancelled or timed out at every point", async () => {
  const report = await sweep("sleep", sleeps);
  assert(report.points.length >= 18, `only ${report.points.length} points`);
});

const joins: Scenario = async (ctx) => {
  let joined: unknown = undefined;
  const child = await ctx.spawn("child", async () => {
    await ctx.step("child sleep", () => sleep(2));
    return 42;
  });
  const victim = await ctx.spawnVictim("joiner", async () => {
    const g = ctx.enter("joiner");
    try {
      joined = await ctx.step("joiner join", () => child.join());
      await ctx.step("joiner sleep", () => sleep(1));
    } finally {
      ctx.leave(g);
    }
  });
  await victim.wait();
  await child.wait();
  return () => {
    assertVictimEnd(ctx);
    assert.equal(child.result, 42, "cancelling a joiner must not disturb the joined task");
    assert.equal(child.cancelled, false);
    if (victim.exception === undefined) assert.equal(joined, 42);
  };
};

Deno.test("sweep: Task.join() cancelled or timed out at every point", async () => {
  await sweep("join", joins);
});

const allAtOnce: Scenario = async (ctx) => {
  const child = await ctx.spawn("child", async () => {
    await ctx.step("child sleep", () => sleep(3));
    return "c";
  });
  let result: unknown[] = [];
  await ctx.spawnVictim("gatherer", async () => {
    const g = ctx.enter("gatherer");
    try {
      result = await ctx.step(
        "gatherer all",
        () => Promise.all([sleep(1), child.join(), sleep(2)]),
      );
      await ctx.step("gatherer race", () => Promise.race([sleep(1), sleep(5)]));
    } finally {
      ctx.leave(g);
    }
  });
  await child.wait();
  return () => {
    assertVictimEnd(ctx);
    assert.equal(child.result, "c");
    if (ctx.victim!.exception === undefined) assert.deepEqual(result, [undefined, "c", undefined]);
  };
};

Deno.test("sweep: several traps awaited at once (Promise.all, Promise.race)", async () => {
  await sweep("Promise.all", allAtOnce);
});

const nested: Scenario = async (ctx) => {
  const trace = ctx.trace;
  await ctx.spawnVictim("nested", async () => {
    const g = ctx.enter("nested");
    try {
      await timeoutAfter(50, async () => {
        try {
          await timeoutAfter(10, () => ctx.step("inner sleep 20", () => sleep(20)));
          trace.push("inner finished");
        } catch (e) {
          if (e instanceof TaskTimeout) trace.push("inner timed out");
          else throw e;
        }
        try {
          await timeoutAfter(5, () => ctx.step("second sleep 1", () => sleep(1)));
          trace.push("second finished");
        } catch (e) {
          if (e instanceof TaskTimeout) trace.push("second timed out");
          else throw e;
        }
        await ctx.step("outer sleep 100", () => sleep(100));
        trace.push("outer finished");
      });
    } catch (e) {
      if (e instanceof TaskTimeout && !(e instanceof TimeoutCancellationError)) {
        trace.push("outer timed out");
      } else throw e;
    } finally {
      ctx.leave(g);
    }
  });
  return () => {
    assertVictimEnd(ctx);
    if (ctx.struck === undefined) {
      assert.deepEqual(trace, ["inner timed out", "second finished", "outer timed out"]);
    }
    // Whatever the strike, a block reports only its own deadline: the inner
    // blocks never see a TaskTimeout for a deadline that belongs to an outer one.
    for (const entry of trace) {
      assert(
        ["inner timed out", "second finished", "outer timed out", "outer finished"].includes(entry),
        `unexpected trace entry ${entry}`,
      );
    }
  };
};

Deno.test("sweep: nested timeouts struck at every point", async () => {
  await sweep("nested timeouts", nested);
});

const cancels: Scenario = async (ctx) => {
  // The victim is the one cancelling: a target whose cleanup blocks is
  // cancelled, and the canceller itself is struck while it waits.
  let cleanupDone = false;
  let cancelledFirst = false;
  const target = await ctx.spawn("target", async () => {
    const g = ctx.enter("target");
    try {
      await ctx.step("target sleep", () => sleep(100));
    } catch (e) {
      cancelledFirst = e instanceof CancelledError;
      throw e;
    } finally {
      try {
        await ctx.step("target cleanup", () => sleep(2)); // cleanup may block
        cleanupDone = true;
      } finally {
        ctx.leave(g);
      }
    }
  }, { mayCancel: true });
  let returned: boolean | undefined;
  await ctx.spawnVictim("canceller", async () => {
    const g = ctx.enter("canceller");
    try {
      await ctx.step("canceller sleep", () => sleep(1));
      returned = await ctx.step("canceller cancel", () => target.cancel());
      await ctx.step("canceller after", () => sleep(1));
    } finally {
      ctx.leave(g);
    }
  });
  await ctx.step("main sleep", () => sleep(1.5));
  // A second cancel, often while the target is in its cleanup: it just waits.
  await ctx.step("main cancel", () => target.cancel());
  await ctx.victim!.wait();
  return () => {
    assertVictimEnd(ctx);
    assert(target.terminated);
    // A second cancel (or none) never cuts short the cleanup of a cancelled task.
    if (cancelledFirst) assert(cleanupDone, "the cancelled target's cleanup was cut short");
    if (returned !== undefined) assert.equal(returned, true);
    if (ctx.victim!.exception === undefined) assert(target.cancelled);
  };
};

Deno.test("sweep: Task.cancel() whose caller is itself cancelled or timed out", async () => {
  await sweep("Task.cancel", cancels);
});

// The manual's Lock, written with the traps as the manual shows it.
class ManualLock {
  _acquired = false;
  _waiting = new KernelQueue();
  async acquire(): Promise<void> {
    if (this._acquired) await _waitOnQueue(this._waiting, "LOCK_ACQUIRE");
    this._acquired = true;
  }
  async release(): Promise<void> {
    if (this._waiting.length > 0) await _rescheduleTasks(this._waiting, 1);
    else this._acquired = false;
  }
}

Deno.test("sweep: the manual's trap-based Lock (KernelQueue, _waitOnQueue, _rescheduleTasks)", async () => {
  await sweep(
    "manual Lock",
    lockScenario(
      () => new ManualLock(),
      (lock: ManualLock) => !lock._acquired && lock._waiting.length === 0,
    ),
  );
});

Deno.test("sweep harness: reports a primitive that loses a cancelled waiter's hand-off", async () => {
  // The bug the JS peers shipped: waiters are plain promise resolvers, so a
  // cancelled waiter stays in the list, release() hands the lock to it, and
  // the lock is lost. The sweep must notice, or the harness proves nothing.
  class LeakyLock {
    held = false;
    waiters: Array<() => void> = [];
    async acquire(): Promise<void> {
      if (this.held) {
        await _futureWait(new Promise<void>((resolve) => this.waiters.push(resolve)));
      }
      this.held = true;
    }
    async release(): Promise<void> {
      const next = this.waiters.shift();
      if (next !== undefined) next(); // hand-off: held stays true
      else this.held = false;
    }
  }
  await assert.rejects(
    sweep(
      "leaky lock",
      lockScenario(() => new LeakyLock(), (lock: LeakyLock) => !lock.held),
      { modes: ["cancel"] },
    ),
    /struck runs failed[^]*hung: still running/,
  );
});

Deno.test("sweep harness: reports a hang with the tasks still blocked", async () => {
  const hangs: Scenario = async (ctx) => {
    const q = new KernelQueue();
    await ctx.spawnVictim("stuck", async () => {
      await ctx.step("stuck wait", () => _waitOnQueue(q, "NEVER"));
    });
    await ctx.spawn("waiter", async () => {
      try {
        await ctx.victim!.join();
      } catch (e) {
        if (!(e instanceof Error && e.cause instanceof CancelledError)) throw e;
      }
    });
  };
  await assert.rejects(sweep("hang", hangs, { limit: 5 }), /hung: still running after 5 virtual/);
});
