import assert from "node:assert/strict";
import {
  CancelledError,
  CurioError,
  Kernel,
  MockClock,
  openConnection,
  Queue,
  run,
  sleep,
  spawn,
} from "@curio/curio";
import { _waitOnQueue, KernelQueue } from "@curio/curio/traps";

const virtual = () => ({ clock: new MockClock({ autojump: 0 }) });

Deno.test("run() resolves with main's value", async () => {
  assert.equal(await run(async () => 42), 42);
});

Deno.test("run() rejects with the very error object main threw", async () => {
  const boom = new RangeError("boom");
  const err = await run(async () => {
    await sleep(0);
    throw boom;
  }).catch((e) => e);
  assert.equal(err, boom, "run() must reject with main's own error, not a wrapper");
});

Deno.test("run() rejects a Promise given as main with a TypeError showing the () => form", async () => {
  const p = Promise.resolve(1);
  await assert.rejects(
    run(p as never),
    (e: unknown) => e instanceof TypeError && /\(\) => main\(x\)/.test(e.message),
  );
});

Deno.test("run() waits for every non-daemon task, not just main", async () => {
  const trace: string[] = [];
  await run(async () => {
    await spawn(async () => {
      await sleep(10);
      trace.push("child done");
    });
    trace.push("main done");
  }, virtual());
  assert.deepEqual(trace, ["main done", "child done"]);
});

Deno.test("run() cancels daemon tasks at shutdown, newest first, each awaited", async () => {
  const trace: string[] = [];
  const daemon = (name: string) => async () => {
    try {
      await sleep(1000);
    } catch (e) {
      assert(e instanceof CancelledError);
      await sleep(1); // cleanup that blocks must be allowed to finish
      trace.push(`${name} cleaned up`);
      throw e;
    }
  };
  await run(async () => {
    await spawn(daemon("old"), { daemon: true });
    await spawn(daemon("new"), { daemon: true });
  }, virtual());
  assert.deepEqual(trace, ["new cleaned up", "old cleaned up"]);
});

Deno.test("Kernel can run several mains in turn and keeps daemons between runs", async () => {
  const kernel = new Kernel(virtual());
  let ticks = 0;
  assert.equal(
    await kernel.run(async () => {
      await spawn(async () => {
        for (;;) {
          await sleep(1);
          ticks++;
        }
      }, { daemon: true });
      return "first";
    }),
    "first",
  );
  const before = ticks;
  assert.equal(
    await kernel.run(async () => {
      await sleep(3.5);
      return "second";
    }),
    "second",
  );
  await kernel.run(undefined, { shutdown: true });
  assert(
    ticks >= before + 3,
    `the daemon should tick during the second run (${before} -> ${ticks})`,
  );
});

Deno.test("Kernel.run() refuses to run twice at once", async () => {
  await using kernel = new Kernel(virtual());
  const first = kernel.run(() => sleep(1));
  await assert.rejects(
    kernel.run(async () => 1),
    (e: unknown) => e instanceof CurioError && /already running/.test(e.message),
  );
  await first;
});

Deno.test("Kernel [Symbol.asyncDispose] cancels what is left", async () => {
  let cancelled = false;
  {
    await using kernel = new Kernel(virtual());
    await kernel.run(async () => {
      await spawn(async () => {
        try {
          await sleep(100);
        } catch (e) {
          cancelled = e instanceof CancelledError;
          throw e;
        }
      }, { daemon: true });
    });
  }
  assert(cancelled, "the daemon should have seen CancelledError at dispose");
});

Deno.test("Kernel.onShutdown hooks run after tasks are cancelled, last first", async () => {
  const trace: string[] = [];
  const kernel = new Kernel(virtual());
  kernel.onShutdown(() => {
    trace.push("hook 1");
  });
  const remove = kernel.onShutdown(() => {
    trace.push("removed");
  });
  kernel.onShutdown(async () => {
    await Promise.resolve();
    trace.push("hook 3");
  });
  remove();
  await kernel.run(async () => {
    await spawn(async () => {
      try {
        await sleep(5);
      } finally {
        trace.push("daemon finally");
      }
    }, { daemon: true });
  }, { shutdown: true });
  assert.deepEqual(trace, ["daemon finally", "hook 3", "hook 1"]);
});

Deno.test("blocking calls outside a task reject with CurioError saying to use run()", async () => {
  await assert.rejects(
    sleep(1),
    (e: unknown) =>
      e instanceof CurioError && /inside a task/.test(e.message) && /run\(\)/.test(e.message),
  );
  await assert.rejects(spawn(async () => 1), CurioError);
  await assert.rejects(_waitOnQueue(new KernelQueue(), "X"), CurioError);
});

Deno.test("a crashing task does not stop the kernel or other tasks", async () => {
  const trace: string[] = [];
  await run(async () => {
    const bad = await spawn(async () => {
      await sleep(1);
      throw new Error("bad task");
    });
    const good = await spawn(async () => {
      await sleep(2);
      trace.push("good finished");
      return "ok";
    });
    await bad.wait();
    assert.equal(await good.join(), "ok");
  }, { ...virtual(), logErrors: false });
  assert.deepEqual(trace, ["good finished"]);
});

Deno.test("no starvation: sleep(0) spinners and queue ping-pong let timers and file I/O run", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/f.txt`, "data");
    await run(async () => {
      let stop = false;
      let spins = 0;
      let pings = 0;
      const spinner = await spawn(async () => {
        while (!stop) {
          await sleep(0);
          if (++spins > 3_000_000) {
            throw new Error("event loop starved: the timer never fired while tasks spun");
          }
        }
      });
      const toPong = new Queue<number>();
      const toPing = new Queue<number>();
      const pong = await spawn(async () => {
        for (;;) await toPing.put((await toPong.get()) + 1);
      }, { daemon: true });
      const ping = await spawn(async () => {
        while (!stop) {
          await toPong.put(pings);
          pings = await toPing.get();
        }
      }, { daemon: true });
      // Host callbacks outside the kernel: they only run if the event loop does.
      const timer = new Promise<void>((resolve) => setTimeout(resolve, 20));
      const file = Deno.readTextFile(`${dir}/f.txt`);
      const hostDone = Promise.all([timer, file]).then(([, text]) => {
        stop = true;
        return text;
      });
      // The spinner's bound fails the test instead of hanging if the loop starves.
      await spinner.join();
      await ping.join();
      assert.equal(await hostDone, "data");
      await ping.cancel();
      await pong.cancel();
      assert(
        spins > 0 && pings > 0,
        `the busy tasks should have run meanwhile (spins ${spins}, pings ${pings})`,
      );
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("no starvation: socket round trips complete while 100 tasks spin on sleep(0)", async () => {
  // Deno polls sockets only when its runtime parks (or every 61 ticks): the
  // kernel's step aside must make it park, not just run timers. The bound
  // on the spinners fails the test instead of hanging if sockets starve.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  const echo = (async () => {
    const conn = await listener.accept();
    const buf = new Uint8Array(64);
    for (let n = await conn.read(buf); n !== null; n = await conn.read(buf)) {
      await conn.write(buf.subarray(0, n));
    }
    conn.close();
  })();
  let spins = 0;
  await run(async () => {
    let stop = false;
    const spinners = [];
    for (let i = 0; i < 100; i++) {
      spinners.push(
        await spawn(async () => {
          while (!stop) {
            await sleep(0);
            if (++spins > 20_000_000) throw new Error("sockets starved while tasks spun");
          }
        }),
      );
    }
    const sock = await openConnection("127.0.0.1", port);
    for (let i = 0; i < 20; i++) {
      await sock.sendall(new Uint8Array([i]));
      assert.deepEqual(await sock.recv(64), new Uint8Array([i]), `round trip ${i}`);
    }
    stop = true;
    await sock.close();
    for (const t of spinners) await t.join();
  });
  await echo;
  listener.close();
  assert(spins > 0, "the spinners ran meanwhile");
});
