// waitThen (kernel/wait_then.ts): a wait whose last step the kernel runs as
// the woken task resumes, instead of a then() on the wait's promise.

import assert from "node:assert/strict";
import { CancelledError, CurioError, currentTask, run, sleep, spawn } from "@curio/curio";
import { _rescheduleTasks, _waitOnQueue, KernelQueue } from "@curio/curio/traps";
import { waitThen } from "../../kernel/wait_then.ts";

Deno.test("waitThen: finish runs when the woken task's turn comes, not when it is woken; its result is the wait's", async () => {
  const log: string[] = [];
  await run(async () => {
    const q = new KernelQueue();
    const waiter = await spawn(async () => {
      const got = await waitThen(q, "MY_WAIT", (arg: string) => {
        log.push(`finish ${arg}`);
        return arg.length;
      }, "abc");
      log.push(`waiter resumed with ${got}`);
    });
    assert.equal(waiter.state, "MY_WAIT", "the waiter should block in the state it named");
    await _rescheduleTasks(q, 1);
    log.push("waker carries on");
    await sleep(0);
    log.push("waker back");
    await waiter.join();
  });
  assert.deepEqual(log, [
    "waker carries on",
    "finish abc",
    "waiter resumed with 3",
    "waker back",
  ]);
});

Deno.test("waitThen: what finish throws is what the wait throws, and the kernel goes on", async () => {
  await run(async () => {
    const q = new KernelQueue();
    const waiter = await spawn(async () => {
      try {
        await waitThen(q, "MY_WAIT", () => {
          throw new RangeError("finish failed");
        }, undefined);
        return "no error";
      } catch (error) {
        return (error as Error).message;
      }
    });
    await _rescheduleTasks(q, 1);
    assert.equal(await waiter.join(), "finish failed");
    await sleep(0); // the kernel still switches tasks
  });
});

Deno.test("waitThen: a cancel that takes the waiter away skips finish", async () => {
  let finished = 0;
  await run(async () => {
    const q = new KernelQueue();
    const waiter = await spawn(() => waitThen(q, "MY_WAIT", () => finished++, undefined));
    await waiter.cancel();
    assert.ok(waiter.exception instanceof CancelledError, "the waiter should end cancelled");
    assert.equal(q.length, 0, "the cancelled waiter should leave the queue");
  });
  assert.equal(finished, 0, "finish must not run for a waiter that was never woken");
});

Deno.test("waitThen: a waiter woken before a cancel still finishes (waking is a commitment)", async () => {
  const log: string[] = [];
  await run(async () => {
    const q = new KernelQueue();
    const waiter = await spawn(async () => {
      await waitThen(q, "MY_WAIT", () => log.push("finish"), undefined);
      log.push("resumed");
      await sleep(0); // the cancel is raised here, at the next blocking operation
      log.push("not reached");
    });
    await _rescheduleTasks(q, 1);
    await waiter.cancel();
    assert.ok(waiter.exception instanceof CancelledError, "the cancel should end the waiter");
  });
  assert.deepEqual(log, ["finish", "resumed"]);
});

Deno.test("waitThen outside a task rejects with CurioError and runs nothing", async () => {
  let finished = 0;
  const q = new KernelQueue();
  await assert.rejects(
    waitThen(q, "MY_WAIT", () => finished++, undefined),
    (error: unknown) => error instanceof CurioError && /not inside a task/.test(error.message),
  );
  assert.equal(q.length, 0);
  assert.equal(finished, 0);
});

Deno.test("waitThen under Promise.all: a step that wakes a task starts no second dispatch; each task runs alone until it blocks", async () => {
  // P waits on two traps at once. The first one's step runs while nobody
  // holds the kernel (P takes it only with its last trap) and wakes M: M must
  // queue behind P's second trap, not start running beside P.
  const log: string[] = [];
  await run(async () => {
    const a = new KernelQueue();
    const b = new KernelQueue();
    const m = new KernelQueue();
    const mTask = await spawn(async () => {
      await _waitOnQueue(m, "M_WAIT");
      for (let i = 1; i <= 3; i++) {
        log.push(`M ${i}`);
        await currentTask(); // does not block: M keeps the kernel
      }
    });
    const p = await spawn(async () => {
      await Promise.all([
        waitThen(a, "A_WAIT", () => {
          void _rescheduleTasks(m, 1);
          log.push("step a wakes M");
        }, undefined),
        waitThen(b, "B_WAIT", () => log.push("step b"), undefined),
      ]);
      for (let i = 1; i <= 3; i++) {
        log.push(`P ${i}`);
        await currentTask();
      }
    });
    await _rescheduleTasks(a, 1);
    await _rescheduleTasks(b, 1);
    log.push("main blocks");
    await mTask.join();
    await p.join();
  });
  assert.deepEqual(log, [
    "main blocks",
    "step a wakes M",
    "step b",
    "P 1",
    "P 2",
    "P 3",
    "M 1",
    "M 2",
    "M 3",
  ]);
});
