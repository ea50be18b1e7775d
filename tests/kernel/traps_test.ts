import assert from "node:assert/strict";
import {
  CancelledError,
  currentTask,
  Kernel,
  MockClock,
  run,
  sleep,
  spawn,
  TaskTimeout,
  timeoutAfter,
} from "@curio/curio";
import {
  _cancelTask,
  _futureWait,
  _getCurrent,
  _getKernel,
  _joinTask,
  _readWait,
  _rescheduleTasks,
  _setTimeout,
  _unsetTimeout,
  _waitOnQueue,
  _writeWait,
  KernelQueue,
  readWaitHook,
} from "@curio/curio/traps";

const virtual = () => ({ clock: new MockClock({ autojump: 0 }) });

// The manual's Lock, written with the traps exactly as the manual shows.
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

Deno.test("the manual's trap-based Lock excludes and serves waiters in FIFO order", async () => {
  const trace: string[] = [];
  await run(async () => {
    const lock = new ManualLock();
    let inside = 0;
    const worker = (name: string) => async () => {
      await lock.acquire();
      try {
        inside++;
        assert.equal(inside, 1, "two tasks held the lock at once");
        trace.push(`${name} in`);
        await sleep(1);
        trace.push(`${name} out`);
      } finally {
        inside--;
        await lock.release();
      }
    };
    const tasks = [];
    for (const name of ["a", "b", "c"]) tasks.push(await spawn(worker(name)));
    assert.equal(tasks[1]!.state, "LOCK_ACQUIRE");
    for (const t of tasks) await t.join();
    assert.equal(lock._acquired, false);
  }, virtual());
  assert.deepEqual(trace, ["a in", "a out", "b in", "b out", "c in", "c out"]);
});

Deno.test("the manual's Lock survives a waiter cancelled while queued", async () => {
  await run(async () => {
    const lock = new ManualLock();
    await lock.acquire();
    const victim = await spawn(() => lock.acquire());
    const next = await spawn(async () => {
      await lock.acquire();
      await lock.release();
      return "got it";
    });
    await victim.cancel();
    assert.equal(lock._waiting.length, 1, "the cancelled waiter must be unlinked");
    await lock.release();
    assert.equal(await next.join(), "got it");
    assert.equal(lock._acquired, false);
  });
});

Deno.test("_rescheduleTasks() wakes n waiters with a value, or raises exc in them", async () => {
  await run(async () => {
    const q = new KernelQueue();
    const ts = [];
    for (let i = 0; i < 3; i++) ts.push(await spawn(() => _waitOnQueue(q, "W")));
    await _rescheduleTasks(q, 2, "v");
    assert.equal(q.length, 1);
    assert.equal(await ts[0]!.join(), "v");
    assert.equal(await ts[1]!.join(), "v");
    const exc = new URIError("nope");
    await _rescheduleTasks(q, 1, undefined, exc);
    const err = (await ts[2]!.join().catch((e) => e)) as Error;
    assert.equal(err.cause, exc);
    await _rescheduleTasks(q, 5); // more than waiting: fine
  }, { logErrors: false });
});

Deno.test("_rescheduleTasks() works from a plain callback outside any task", async () => {
  await run(async () => {
    const q = new KernelQueue();
    setTimeout(() => void _rescheduleTasks(q, 1, "from a timer"), 1);
    assert.equal(await _waitOnQueue(q, "W"), "from a timer");
  });
});

Deno.test("a woken waiter keeps what it was handed; a later cancel lands at its next wait", async () => {
  await run(async () => {
    const q = new KernelQueue();
    const trace: string[] = [];
    const t = await spawn(async () => {
      const item = await _waitOnQueue(q, "W");
      trace.push(`got ${item}`);
      try {
        await sleep(0);
      } catch (e) {
        trace.push(e instanceof CancelledError ? "cancelled after" : "wrong");
        throw e;
      }
    });
    const woken = _rescheduleTasks(q, 1, "item"); // woken: committed
    const cancelled = t.cancel(); // arrives before the waiter has resumed
    await woken;
    assert.equal(await cancelled, true);
    assert.deepEqual(trace, ["got item", "cancelled after"]);
  });
});

Deno.test("_futureWait() returns a promise's value or raises its error; state FUTURE_WAIT", async () => {
  await run(async () => {
    assert.equal(await _futureWait(Promise.resolve(3)), 3);
    await assert.rejects(_futureWait(Promise.reject(new EvalError("e"))), EvalError);
    let resolve!: (v: string) => void;
    const p = new Promise<string>((r) => resolve = r);
    const t = await spawn(() => _futureWait(p));
    assert.equal(t.state, "FUTURE_WAIT");
    resolve("later");
    assert.equal(await t.join(), "later");
    const custom = await spawn(() => _futureWait(new Promise(() => {}), "MY_WAIT"));
    assert.equal(custom.state, "MY_WAIT");
    await custom.cancel();
    await assert.rejects(_futureWait(5 as never), TypeError);
  });
});

Deno.test("_futureWait() is cancellable by timeout; the promise itself runs on", async () => {
  await run(async () => {
    let resolve!: (v: number) => void;
    const p = new Promise<number>((r) => resolve = r);
    await assert.rejects(timeoutAfter(1, () => _futureWait(p)), TaskTimeout);
    resolve(9);
    assert.equal(await _futureWait(p), 9);
  }, virtual());
});

Deno.test("_readWait()/_writeWait() use the object's readiness hook and refuse raw handles", async () => {
  await run(async () => {
    let ready!: () => void;
    const waitable = { [readWaitHook]: () => new Promise<void>((r) => ready = r) };
    const t = await spawn(() => _readWait(waitable));
    assert.equal(t.state, "READ_WAIT");
    ready();
    await t.join();
    await assert.rejects(
      _readWait({} as never),
      (e: unknown) => e instanceof TypeError && /readiness/.test(e.message),
    );
    await assert.rejects(_writeWait({} as never), TypeError);
  });
});

Deno.test("_getKernel(), _getCurrent(), _joinTask(), _cancelTask()", async () => {
  const kernel = new Kernel();
  await kernel.run(async () => {
    assert.equal(await _getKernel(), kernel);
    assert.equal(await _getCurrent(), await currentTask());
    assert.equal(await _joinTask(await spawn(async () => "j")), "j");
    assert.equal(await _cancelTask(await spawn(() => sleep(10))), true);
  }, { shutdown: true });
});

Deno.test("_setTimeout()/_unsetTimeout() bound the operations between them", async () => {
  await run(async () => {
    const token = await _setTimeout(1);
    try {
      await assert.rejects(sleep(5), TaskTimeout);
    } finally {
      await _unsetTimeout(token);
    }
    await sleep(5); // no timeout any more
    const none = await _setTimeout(null);
    await sleep(1);
    await _unsetTimeout(none);
    await assert.rejects(_unsetTimeout({ deadline: 1 } as never), TypeError);
  }, virtual());
});

Deno.test("KernelQueue rejects foreign objects in the traps", async () => {
  await run(async () => {
    await assert.rejects(_waitOnQueue([] as never, "X"), TypeError);
    await assert.rejects(_rescheduleTasks([] as never), TypeError);
    await assert.rejects(_rescheduleTasks(new KernelQueue(), -1), RangeError);
  });
});
