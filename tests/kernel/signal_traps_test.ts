// The signal traps on plain objects. These tests use SIGWINCH and SIGURG,
// whose default action is to do nothing: `deno test --parallel` runs other
// modules in this same process, and no other test file sends these.
import assert from "node:assert/strict";
import { CurioError, MockClock, run, sleep, spawn, timeoutAfter } from "@curio/curio";
import { _sigignore, _sigunwatch, _sigwait, _sigwatch } from "@curio/curio/traps";
import { arrivalCount, listenerCount } from "../../kernel/_signals.ts";

async function send(signal: Deno.Signal): Promise<void> {
  const before = arrivalCount();
  Deno.kill(Deno.pid, signal);
  for (let i = 0; i < 400 && arrivalCount() === before; i++) await sleep(0.005);
  assert.notEqual(arrivalCount(), before, `${signal} never arrived`);
}

Deno.test("_sigwatch() queues signals for _sigwait(); _sigunwatch() removes the listeners", async () => {
  const sigset = { signals: ["SIGWINCH", "SIGURG"] as Deno.Signal[] };
  const got = await run(async () => {
    await _sigwatch(sigset);
    try {
      assert.equal(listenerCount(), 2);
      await send("SIGURG");
      await send("SIGWINCH");
      return [await _sigwait(sigset), await _sigwait(sigset)];
    } finally {
      await _sigunwatch(sigset);
      assert.equal(listenerCount(), 0);
    }
  });
  assert.deepEqual(got, ["SIGURG", "SIGWINCH"]);
});

Deno.test("_sigwait() blocks in SIGNAL_WAIT and keeps run() alive until the signal comes", async () => {
  // Nothing but the signal is pending: Deno's signal listener alone would let
  // the event loop end; the trap must hold the process open.
  const sigset = { signals: ["SIGWINCH"] as Deno.Signal[] };
  const trace: string[] = [];
  const child = new Deno.Command("/bin/sh", {
    args: ["-c", `sleep 0.2; kill -WINCH ${Deno.pid}`],
  }).spawn();
  child.unref(); // the child must not be what keeps the test alive
  try {
    await run(async () => {
      const waiter = await spawn(async () => trace.push(await _sigwait(sigset)));
      trace.push(waiter.state);
    });
  } finally {
    child.ref();
    await child.status;
  }
  assert.deepEqual(trace, ["SIGNAL_WAIT", "SIGWINCH"]);
  assert.equal(listenerCount(), 0);
});

Deno.test("_sigunwatch() drops queued signals and is a no-op without a watch", async () => {
  const sigset = { signals: ["SIGURG"] as Deno.Signal[] };
  await run(async () => {
    await _sigunwatch(sigset); // nothing open: nothing happens
    await _sigwatch(sigset);
    await send("SIGURG");
    await _sigunwatch(sigset);
    await _sigwatch(sigset);
    try {
      const waiter = await spawn(() => _sigwait(sigset));
      await sleep(0.01);
      assert.equal(waiter.state, "SIGNAL_WAIT", "the earlier SIGURG must have been dropped");
      await waiter.cancel();
    } finally {
      await _sigunwatch(sigset);
    }
  });
  assert.equal(listenerCount(), 0);
});

Deno.test("_sigwatch() rejects SIGKILL with a RangeError naming it, leaving no listener", async () => {
  const sigset = { signals: ["SIGWINCH", "SIGKILL"] as Deno.Signal[] };
  await run(async () => {
    await assert.rejects(
      _sigwatch(sigset),
      (e: unknown) =>
        e instanceof RangeError && e.message.startsWith("Cannot listen for SIGKILL:") &&
        /never lets a process catch SIGKILL/.test(e.message),
    );
    assert.equal(listenerCount(), 0);
    await assert.rejects(_sigwait(sigset), RangeError);
    assert.equal(listenerCount(), 0);
  });
});

Deno.test("_sigwatch() rejects what is not a signal set with a TypeError", async () => {
  await run(async () => {
    await assert.rejects(_sigwatch(null as never), TypeError);
    await assert.rejects(_sigwatch({ signals: [] }), TypeError);
    await assert.rejects(_sigwatch({ signals: [9 as unknown as Deno.Signal] }), TypeError);
  });
});

Deno.test("_sigwatch() and _sigwait() outside a task reject with CurioError", async () => {
  const sigset = { signals: ["SIGURG"] as Deno.Signal[] };
  await assert.rejects(_sigwatch(sigset), CurioError);
  await assert.rejects(_sigwait(sigset), CurioError);
  assert.equal(listenerCount(), 0);
});

Deno.test("_sigwait() cancelled by a timeout unregisters the waiter and its listener", async () => {
  const sigset = { signals: ["SIGURG"] as Deno.Signal[] };
  await run(async () => {
    await assert.rejects(timeoutAfter(1, () => _sigwait(sigset)));
    assert.equal(listenerCount(), 0);
  }, { clock: new MockClock({ autojump: 0 }) });
});

Deno.test("_sigignore() swallows the signal for every watching set until disposed", async () => {
  const a = { signals: ["SIGWINCH"] as Deno.Signal[] };
  const b = { signals: ["SIGWINCH", "SIGURG"] as Deno.Signal[] };
  const got = await run(async () => {
    await _sigwatch(a);
    await _sigwatch(b);
    try {
      {
        using _ = _sigignore({ signals: ["SIGWINCH"] });
        await send("SIGWINCH");
      }
      assert.equal(listenerCount(), 2);
      await send("SIGURG");
      await send("SIGWINCH");
      return [await _sigwait(b), await _sigwait(b), await _sigwait(a)];
    } finally {
      await _sigunwatch(a);
      await _sigunwatch(b);
    }
  });
  assert.deepEqual(got, ["SIGURG", "SIGWINCH", "SIGWINCH"]);
  assert.equal(listenerCount(), 0);
});

Deno.test("one signal wakes a waiter of every set that watches it", async () => {
  const a = { signals: ["SIGURG"] as Deno.Signal[] };
  const b = { signals: ["SIGURG"] as Deno.Signal[] };
  const trace: string[] = [];
  await run(async () => {
    const ta = await spawn(async () => trace.push("a:" + await _sigwait(a)));
    const tb = await spawn(async () => trace.push("b:" + await _sigwait(b)));
    assert.equal(listenerCount(), 1, "one Deno listener per signal, shared");
    Deno.kill(Deno.pid, "SIGURG");
    await ta.join();
    await tb.join();
  });
  assert.deepEqual(trace.sort(), ["a:SIGURG", "b:SIGURG"]);
  assert.equal(listenerCount(), 0);
});
