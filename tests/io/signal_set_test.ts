// SignalSet tests send signals to this very process. `deno test --parallel`
// runs other test modules in the same process, so each module has its own
// signals: here SIGALRM and SIGHUP (doc examples use SIGUSR2, the kernel trap
// tests SIGWINCH/SIGURG, the monitor SIGPWR), and every send happens while a
// listener is registered (else the default action would end the test run).
//
// Not SIGUSR1 in this process: since Deno 2.9.2 a SIGUSR1 arriving after the
// first 500 ms also starts the inspector on 127.0.0.1:9229. The manual's
// SIGUSR1 example is run as a child process instead (examples/signal_set.ts),
// whose signals arrive before that.
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

Deno.test("SignalSet.wait() returns a signal sent to the process (manual example, in-process)", async () => {
  const got = await run(async () => {
    await using sigset = await new SignalSet("SIGALRM", "SIGHUP").watch();
    Deno.kill(Deno.pid, "SIGALRM");
    return await sigset.wait();
  });
  assert.equal(got, "SIGALRM");
  assert.equal(listenerCount(), 0);
});

Deno.test("SignalSet.wait() returns SIGHUP to a task blocked in SIGNAL_WAIT", async () => {
  const trace: string[] = [];
  await run(async () => {
    await using sigset = await new SignalSet("SIGALRM", "SIGHUP").watch();
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
    await using sigset = await new SignalSet("SIGALRM", "SIGHUP").watch();
    await send("SIGALRM");
    await send("SIGHUP");
    await send("SIGALRM");
    return [await sigset.wait(), await sigset.wait(), await sigset.wait()];
  });
  assert.deepEqual(got, ["SIGALRM", "SIGHUP", "SIGALRM"]);
});

Deno.test("SignalSet.wait() on a queued signal returns at once, without blocking", async () => {
  await run(async () => {
    await using sigset = await new SignalSet("SIGALRM").watch();
    await send("SIGALRM");
    const self = await currentTask();
    const cycles = self.cycles;
    assert.equal(await sigset.wait(), "SIGALRM");
    assert.equal(self.cycles, cycles, "a queued signal must not suspend the task");
  });
});

Deno.test("SignalSet: a second task waits in FIFO order", async () => {
  const trace: string[] = [];
  await run(async () => {
    await using sigset = await new SignalSet("SIGALRM", "SIGHUP").watch();
    const a = await spawn(async () => trace.push("a:" + await sigset.wait()));
    const b = await spawn(async () => trace.push("b:" + await sigset.wait()));
    await send("SIGALRM");
    await a.join();
    await send("SIGHUP");
    await b.join();
  });
  assert.deepEqual(trace, ["a:SIGALRM", "b:SIGHUP"]);
});

Deno.test("SignalSet.ignore() swallows signals inside the block, even for a watching set", async () => {
  const got = await run(async () => {
    await using sigset = await new SignalSet("SIGALRM", "SIGHUP").watch();
    {
      using _ = sigset.ignore();
      await send("SIGALRM"); // swallowed: neither queued nor fatal
    }
    await send("SIGHUP");
    return await sigset.wait();
  });
  assert.equal(got, "SIGHUP");
  assert.equal(listenerCount(), 0);
});

Deno.test("SignalSet.ignore() works outside a task and removes its listener when disposed", async () => {
  const sigset = new SignalSet("SIGALRM");
  {
    using _ = sigset.ignore();
    assert.equal(listenerCount(), 1);
    const before = arrivalCount();
    Deno.kill(Deno.pid, "SIGALRM");
    for (let i = 0; i < 400 && arrivalCount() === before; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.notEqual(arrivalCount(), before);
  }
  assert.equal(listenerCount(), 0);
});

Deno.test("SignalSet[Symbol.asyncDispose] removes every listener and drops the queue", async () => {
  await run(async () => {
    const sigset = new SignalSet("SIGALRM", "SIGHUP");
    {
      await using _ = await sigset.watch();
      assert.equal(listenerCount(), 2);
      await send("SIGALRM");
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
    const sigset = new SignalSet("SIGALRM");
    await using outer = await sigset.watch();
    {
      await using _inner = await sigset.watch();
      await send("SIGALRM");
    }
    assert.equal(listenerCount(), 1);
    assert.equal(await outer.wait(), "SIGALRM");
  });
  assert.equal(listenerCount(), 0);
});

Deno.test("SignalSet: a watch left open is closed when run() shuts down", async () => {
  const sigset = new SignalSet("SIGALRM", "SIGHUP");
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
    const sigset = new SignalSet("SIGALRM");
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
  assert.throws(() => new SignalSet("SIGALRM", "SIGSTOP"), RangeError);
  assert.throws(
    () => new SignalSet("SIGFOO" as Deno.Signal),
    (e: unknown) => e instanceof RangeError && /unknown signal "SIGFOO"/.test(e.message),
  );
  assert.throws(() => new SignalSet(10 as unknown as Deno.Signal), TypeError);
  assert.throws(() => new SignalSet(), TypeError);
  assert.equal(listenerCount(), 0);
});

Deno.test("SignalSet.watch() and wait() outside a task reject with CurioError", async () => {
  const sigset = new SignalSet("SIGALRM");
  await assert.rejects(sigset.watch(), CurioError);
  await assert.rejects(sigset.wait(), CurioError);
  assert.equal(listenerCount(), 0);
});

Deno.test("SignalSet.signals lists each name once, frozen", () => {
  const sigset = new SignalSet("SIGALRM", "SIGHUP", "SIGALRM");
  assert.deepEqual(sigset.signals, ["SIGALRM", "SIGHUP"]);
  assert(Object.isFrozen(sigset.signals));
});

Deno.test("the manual's SignalSet example receives SIGUSR1 and SIGHUP (examples/signal_set.ts)", async () => {
  const example = new URL("../../examples/signal_set.ts", import.meta.url).pathname;
  const config = new URL("../../deno.json", import.meta.url).pathname;
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-run", "--config", config, example],
    env: { NO_COLOR: "1" },
    stdin: "null",
  }).output();
  const out = new TextDecoder().decode(stdout);
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  assert.equal(
    out,
    "Got signal SIGUSR1\nGot signal SIGHUP\nGot signal SIGUSR1\nSIGHUP ignored; still running\n",
  );
});

Deno.test("SignalSet and a signal to this very process need no permission (README's table)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const script = `${dir}/own_signal.ts`;
    const mod = new URL("../../mod.ts", import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `import { run, SignalSet } from "${mod}";
await run(async () => {
  await using s = await new SignalSet("SIGHUP").watch();
  Deno.kill(Deno.pid, "SIGHUP");
  console.log(await s.wait());
});
`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", script], // no --allow-run, no flag at all
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    assert(out.success, `the child failed: ${err}`);
    assert.equal(new TextDecoder().decode(out.stdout), "SIGHUP\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
