// SignalSet sends SIGUSR1 and SIGHUP to this test process. `deno test
// --parallel` runs other test modules in the same process, so only this file
// uses these two signals (doc examples use SIGUSR2, kernel trap tests
// SIGWINCH/SIGURG), and every send happens while a listener is registered.
import assert from "node:assert/strict";
import {
  CancelledError,
  CurioError,
  currentTask,
  MockClock,
  run,
  SignalSet,
  sleep,
  spawn,
  TaskTimeout,
  timeoutAfter,
} from "@curio/curio";
import { arrivalCount, listenerCount } from "../../kernel/_signals.ts";

/** Sends `signal` to this process and waits (real time, bounded) until the kernel saw it. */
async function send(signal: Deno.Signal): Promise<void> {
  const before = arrivalCount();
  Deno.kill(Deno.pid, signal);
  for (let i = 0; i < 400 && arrivalCount() === before; i++) await sleep(0.005);
  assert.notEqual(arrivalCount(), before, `${signal} never arrived`);
}

Deno.test("SignalSet.wait() returns SIGUSR1 sent to the process (manual example)", async () => {
  const got = await run(async () => {
    await using sigset = await new SignalSet("SIGUSR1", "SIGHUP").watch();
    Deno.kill(Deno.pid, "SIGUSR1");
    return await sigset.wait();
  });
  assert.equal(got, "SIGUSR1");
  assert.equal(listenerCount(), 0);
});

Deno.test("SignalSet.wait() returns SIGHUP to a task blocked in SIGNAL_WAIT", async () => {
  const trace: string[] = [];
  await run(async () => {
    await using sigset = await new SignalSet("SIGUSR1", "SIGHUP").watch();
    const waiter = await spawn(async () => {
      trace.push("waiting");
      trace.push(await sigset.wait());
    });
    assert.equal(waiter.state, "SIGNAL_WAIT");
    trace.push("send");
    Deno.kill(Deno.pid, "SIGHUP");
    await waiter.join();
  });
  assert.deepEqual(trace, ["waiting", "send", "SIGHUP"]);
});

Deno.test("SignalSet.watch() queues signals that arrive while nobody waits, in order", async () => {
  const got = await run(async () => {
    await using sigset = await new SignalSet("SIGUSR1", "SIGHUP").watch();
    await send("SIGUSR1");
    await send("SIGHUP");
    await send("SIGUSR1");
    return [await sigset.wait(), await sigset.wait(), await sigset.wait()];
  });
  assert.deepEqual(got, ["SIGUSR1", "SIGHUP", "SIGUSR1"]);
});

Deno.test("SignalSet.wait() on a queued signal returns at once, without blocking", async () => {
  await run(async () => {
    await using sigset = await new SignalSet("SIGUSR1").watch();
    await send("SIGUSR1");
    const self = await currentTask();
    const cycles = self.cycles;
    assert.equal(await sigset.wait(), "SIGUSR1");
    assert.equal(self.cycles, cycles, "a queued signal must not suspend the task");
  });
});

Deno.test("SignalSet: a second task waits in FIFO order", async () => {
  const trace: string[] = [];
  await run(async () => {
    await using sigset = await new SignalSet("SIGUSR1", "SIGHUP").watch();
    const a = await spawn(async () => trace.push("a:" + await sigset.wait()));
    const b = await spawn(async () => trace.push("b:" + await sigset.wait()));
    await send("SIGUSR1");
    await a.join();
    await send("SIGHUP");
    await b.join();
  });
  assert.deepEqual(trace, ["a:SIGUSR1", "b:SIGHUP"]);
});

Deno.test("SignalSet.ignore() swallows signals inside the block, even for a watching set", async () => {
  const got = await run(async () => {
    await using sigset = await new SignalSet("SIGUSR1", "SIGHUP").watch();
    {
      using _ = sigset.ignore();
      await send("SIGUSR1"); // swallowed: neither queued nor fatal
    }
    await send("SIGHUP");
    return await sigset.wait();
  });
  assert.equal(got, "SIGHUP");
  assert.equal(listenerCount(), 0);
});

Deno.test("SignalSet.ignore() works outside a task and removes its listener when disposed", async () => {
  const sigset = new SignalSet("SIGUSR1");
  {
    using _ = sigset.ignore();
    assert.equal(listenerCount(), 1);
    const before = arrivalCount();
    Deno.kill(Deno.pid, "SIGUSR1");
    for (let i = 0; i < 400 && arrivalCount() === before; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.notEqual(arrivalCount(), before);
  }
  assert.equal(listenerCount(), 0);
});

Deno.test("SignalSet[Symbol.asyncDispose] removes every listener and drops the queue", async () => {
  await run(async () => {
    const sigset = new SignalSet("SIGUSR1", "SIGHUP");
    {
      await using _ = await sigset.watch();
      assert.equal(listenerCount(), 2);
      await send("SIGUSR1");
    }
    assert.equal(listenerCount(), 0);
    // Watching again starts from an empty queue.
    await using _again = await sigset.watch();
    await send("SIGHUP");
    assert.equal(await sigset.wait(), "SIGHUP");
  });
  assert.equal(listenerCount(), 0);
});

Deno.test("SignalSet.watch() nests: listeners stay until the outer watch ends", async () => {
  await run(async () => {
    const sigset = new SignalSet("SIGUSR1");
    await using outer = await sigset.watch();
    {
      await using _inner = await sigset.watch();
      await send("SIGUSR1");
    }
    assert.equal(listenerCount(), 1);
    assert.equal(await outer.wait(), "SIGUSR1");
  });
  assert.equal(listenerCount(), 0);
});

Deno.test("SignalSet: a watch left open is closed when run() shuts down", async () => {
  const sigset = new SignalSet("SIGUSR1", "SIGHUP");
  await run(async () => {
    await sigset.watch();
    assert.equal(listenerCount(), 2);
  });
  assert.equal(listenerCount(), 0);
});

Deno.test("SignalSet.wait() without watch() listens only while it waits", async () => {
  await run(async () => {
    const sigset = new SignalSet("SIGHUP");
    assert.equal(listenerCount(), 0);
    const waiter = await spawn(() => sigset.wait());
    assert.equal(listenerCount(), 1);
    Deno.kill(Deno.pid, "SIGHUP");
    assert.equal(await waiter.join(), "SIGHUP");
    assert.equal(listenerCount(), 0);
  });
});

Deno.test("SignalSet.wait() cancelled by a timeout leaves no listener behind", async () => {
  await run(async () => {
    const sigset = new SignalSet("SIGUSR1");
    await assert.rejects(timeoutAfter(5, () => sigset.wait()), TaskTimeout);
    assert.equal(listenerCount(), 0);
    await using _ = await sigset.watch();
    const waiter = await spawn(() => sigset.wait());
    await waiter.cancel();
    assert(waiter.exception instanceof CancelledError);
    assert.equal(listenerCount(), 1); // the watch's, not the cancelled waiter's
  }, { clock: new MockClock({ autojump: 0 }) });
  assert.equal(listenerCount(), 0);
});

Deno.test("SignalSet() rejects SIGKILL, SIGSTOP, unknown names and non-strings", () => {
  assert.throws(
    () => new SignalSet("SIGKILL"),
    (e: unknown) =>
      e instanceof RangeError &&
      e.message.startsWith("Cannot create SignalSet: SIGKILL can never be caught"),
  );
  assert.throws(() => new SignalSet("SIGUSR1", "SIGSTOP"), RangeError);
  assert.throws(
    () => new SignalSet("SIGFOO" as Deno.Signal),
    (e: unknown) => e instanceof RangeError && /unknown signal "SIGFOO"/.test(e.message),
  );
  assert.throws(() => new SignalSet(10 as unknown as Deno.Signal), TypeError);
  assert.throws(() => new SignalSet(), TypeError);
  assert.equal(listenerCount(), 0);
});

Deno.test("SignalSet.watch() and wait() outside a task reject with CurioError", async () => {
  const sigset = new SignalSet("SIGUSR1");
  await assert.rejects(sigset.watch(), CurioError);
  await assert.rejects(sigset.wait(), CurioError);
  assert.equal(listenerCount(), 0);
});

Deno.test("SignalSet.signals lists each name once, frozen", () => {
  const sigset = new SignalSet("SIGUSR1", "SIGHUP", "SIGUSR1");
  assert.deepEqual(sigset.signals, ["SIGUSR1", "SIGHUP"]);
  assert(Object.isFrozen(sigset.signals));
});
