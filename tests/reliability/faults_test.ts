// Faults: a peer that resets mid-read, a half-closed socket, a TLS peer that
// sends garbage, a server handler that throws, a worker thread or process
// that crashes, hangs, exits, closes itself or is killed with SIGKILL, a
// child process killed with SIGKILL. In each, the failing task gets a clear
// error at once and the kernel and the other tasks go on (a ticker task
// keeps ticking through the fault).

import assert from "node:assert/strict";
import {
  openConnection,
  run,
  runInProcess,
  runInThread,
  runServer,
  sleep,
  type Socket,
  spawn,
  type Task,
  TaskTimeout,
  tcpServerSocket,
  timeoutAfter,
  workerLimits,
} from "@curio/curio";
import { SHUT_WR, socketpair } from "@curio/curio/socket";
import { Popen } from "@curio/curio/subprocess";
import { createDefaultContext, Purpose } from "@curio/curio/ssl";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** A task that ticks every 10 ms until cancelled; proves the kernel goes on. */
async function ticker(): Promise<{ task: Task; ticks: () => number }> {
  let ticks = 0;
  const task = await spawn(async () => {
    for (;;) {
      await sleep(0.01);
      ticks++;
    }
  }, { daemon: true, name: "ticker" });
  return { task, ticks: () => ticks };
}

/** Asserts the ticker advanced by at least `n` ticks while `fn` ran. */
async function stillTicking(t: { ticks: () => number }, n = 2): Promise<void> {
  const before = t.ticks();
  await sleep(0.01 * (n + 3));
  assert(t.ticks() >= before + n, `the ticker stalled (${t.ticks() - before} ticks)`);
}

Deno.test("fault: a peer that resets the connection mid-read ends the read; writes then fail clearly", async () => {
  await run(async () => {
    const t = await ticker();
    // The peer is a raw Deno connection that never reads: closing it with
    // unread data in its buffer makes the kernel send a reset. (Deno reports
    // a reset to a pending read as end of file, and to writes as BrokenPipe
    // or ConnectionReset.)
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const a = await openConnection("127.0.0.1", listener.addr.port);
    const peer = await listener.accept();
    listener.close();
    try {
      await peer.write(enc.encode("half a li"));
      await a.sendall(enc.encode("never read by the peer"));
      const stream = a.asStream();
      const reader = await spawn(() => stream.readline());
      await sleep(0.05);
      assert.equal(reader.state, "READ_WAIT", "readline should wait for the end of the line");
      peer.close();
      const line = await timeoutAfter(5, () => reader.join());
      assert.equal(dec.decode(line), "half a li", "the bytes before the reset were lost");
      const error = await timeoutAfter(5, async () => {
        for (let i = 0; i < 100; i++) {
          await a.sendall(new Uint8Array(1024));
          await sleep(0.001);
        }
      }).then(() => undefined, (e) => e);
      assert(
        error instanceof Deno.errors.BrokenPipe || error instanceof Deno.errors.ConnectionReset,
        `expected BrokenPipe or ConnectionReset, got ${String(error)}`,
      );
      await stillTicking(t);
    } finally {
      await a.close();
      await t.task.cancel();
    }
  }, { logErrors: false });
});

Deno.test("fault: a half-closed socket reads as end of file and can still be written", async () => {
  await run(async () => {
    const t = await ticker();
    const [a, b] = socketpair();
    try {
      await a.sendall(enc.encode("question"));
      await a.shutdown(SHUT_WR);
      const s = b.asStream();
      assert.equal(dec.decode(await s.readall()), "question");
      assert.equal((await b.recv(10)).length, 0, "EOF repeats");
      await b.sendall(enc.encode("answer"));
      await b.close();
      const back = a.asStream();
      assert.equal(dec.decode(await back.readall()), "answer");
      await stillTicking(t);
    } finally {
      await a.close();
      await b.close();
      await t.task.cancel();
    }
  });
});

Deno.test("fault: a TLS client facing a peer that sends garbage fails its handshake clearly", async () => {
  await run(async () => {
    const t = await ticker();
    const listener = tcpServerSocket("127.0.0.1", 0);
    const [host, port] = listener.getsockname() as [string, number];
    const server = await spawn(() =>
      runServer(listener, async (client: Socket) => {
        await client.sendall(enc.encode("HTTP/1.0 200 OK\r\n\r\nthis is not TLS at all\r\n"));
        await sleep(0.2);
      })
    );
    try {
      const error = await timeoutAfter(
        5,
        () =>
          openConnection(host, port, { ssl: true, serverHostname: "localhost" }).then(
            async (s) => {
              await s.close();
              return undefined;
            },
            (e) => e,
          ),
      );
      assert(error instanceof Error, "the handshake with a garbage peer succeeded");
      assert(!(error instanceof TaskTimeout), "the handshake hung instead of failing");
      assert.match(String((error as Error).message), /\S/);
      await stillTicking(t);
    } finally {
      await server.cancel();
      await t.task.cancel();
    }
  }, { logErrors: false });
});

/** Writes a throwaway CA and a localhost certificate signed by it; needs openssl. */
async function throwawayCertificates(): Promise<
  { dir: string; cert: string; key: string; ca: string }
> {
  const dir = await Deno.makeTempDir({ prefix: "curio_faults_" });
  const script = [
    "set -e",
    "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=faults-ca -keyout ca.key -out ca.pem",
    "openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout key.pem -out req.csr",
    "printf 'subjectAltName=DNS:localhost\\nbasicConstraints=CA:FALSE\\n' > san.cnf",
    "openssl x509 -req -in req.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile san.cnf -out cert.pem",
  ].join("\n");
  const out = await new Deno.Command("sh", {
    args: ["-c", script],
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  })
    .output();
  if (!out.success) throw new Error(`openssl failed: ${dec.decode(out.stderr)}`);
  return { dir, cert: `${dir}/cert.pem`, key: `${dir}/key.pem`, ca: `${dir}/ca.pem` };
}

const haveOpenssl = await new Deno.Command("openssl", {
  args: ["version"],
  stdout: "null",
  stderr: "null",
})
  .output().then((o) => o.success, () => false);

Deno.test({
  name: "fault: a client sending garbage to a TLS server fails alone; the server serves the next",
  ignore: !haveOpenssl,
  fn: async () => {
    const certs = await throwawayCertificates();
    try {
      await run(async () => {
        const t = await ticker();
        const serverCtx = createDefaultContext(Purpose.CLIENT_AUTH);
        serverCtx.loadCertChain(certs.cert, certs.key);
        const listener = tcpServerSocket("127.0.0.1", 0);
        const [, port] = listener.getsockname() as [string, number];
        const server = await spawn(() =>
          runServer(listener, async (client: Socket) => {
            const data = await client.recv(100);
            await client.sendall(data);
          }, { ssl: serverCtx })
        );
        try {
          // Garbage instead of a ClientHello: that connection is dropped.
          const raw = await openConnection("127.0.0.1", port);
          try {
            await raw.sendall(enc.encode("GET / HTTP/1.0\r\n\r\n garbage garbage garbage"));
            const reply = await timeoutAfter(5, () => raw.asStream().readall().catch((e) => e));
            assert(
              reply instanceof Error || !dec.decode(reply as Uint8Array).includes("garbage"),
              "the TLS server echoed plaintext",
            );
          } finally {
            await raw.close();
          }
          assert.equal(server.terminated, false, "the server stopped after a garbage client");
          // A proper TLS client is still served.
          const clientCtx = createDefaultContext();
          clientCtx.loadVerifyLocations(certs.ca);
          const good = await timeoutAfter(
            5,
            () =>
              openConnection("localhost", port, { ssl: clientCtx, serverHostname: "localhost" }),
          );
          try {
            await good.sendall(enc.encode("hello over tls"));
            assert.equal(dec.decode(await timeoutAfter(5, () => good.recv(100))), "hello over tls");
          } finally {
            await good.close();
          }
          await stillTicking(t);
        } finally {
          await server.cancel();
          await t.task.cancel();
        }
      }, { logErrors: false });
    } finally {
      await Deno.remove(certs.dir, { recursive: true });
    }
  },
});

Deno.test("fault: a server handler that throws does not stop the server", async () => {
  await run(async () => {
    const t = await ticker();
    const listener = tcpServerSocket("127.0.0.1", 0);
    const [host, port] = listener.getsockname() as [string, number];
    const server = await spawn(() =>
      runServer(listener, async (client: Socket) => {
        const line = dec.decode(await client.recv(100));
        if (line.startsWith("bad")) throw new Error("handler failed on purpose");
        await client.sendall(enc.encode(`ok ${line}`));
      })
    );
    try {
      for (const msg of ["good1", "bad1", "good2", "bad2", "good3"]) {
        const c = await openConnection(host, port);
        try {
          await c.sendall(enc.encode(msg));
          const reply = dec.decode(await timeoutAfter(5, () => c.asStream().readall()));
          // A failing handler's connection is closed: the client sees EOF.
          assert.equal(reply, msg.startsWith("bad") ? "" : `ok ${msg}`);
        } finally {
          await c.close();
        }
      }
      assert.equal(server.terminated, false, "the server stopped");
      await stillTicking(t);
    } finally {
      await server.cancel();
      await t.task.cancel();
    }
  }, { logErrors: false });
});

Deno.test("fault: a worker thread that throws rejects the call with its error; the pool goes on", async () => {
  await run(async () => {
    const t = await ticker();
    try {
      await assert.rejects(
        runInThread(() => {
          throw new RangeError("crunch failed");
        }),
        (e: Error) => e.name === "RangeError" && e.message === "crunch failed",
      );
      assert.equal(await runInThread((x: number) => x * 2, 21), 42);
      await stillTicking(t);
    } finally {
      await t.task.cancel();
    }
  });
});

Deno.test("fault: a worker thread that hangs is cut off by a timeout; the pool goes on", async () => {
  await run(async () => {
    const t = await ticker();
    try {
      await assert.rejects(
        timeoutAfter(0.3, () =>
          runInThread(() => {
            for (;;) { /* spin forever */ }
          })),
        TaskTimeout,
      );
      await stillTicking(t);
      assert.equal(await runInThread((x: number) => x + 1, 1), 2);
    } finally {
      await t.task.cancel();
    }
  });
});

Deno.test("fault: a worker process that exits abruptly fails the call clearly; the pool goes on", async () => {
  await run(async () => {
    const t = await ticker();
    try {
      const error = await timeoutAfter(20, () =>
        runInProcess(() => {
          Deno.exit(3);
        }).then(() => undefined, (e) => e));
      assert(error instanceof Error, "a crashed worker process did not fail the call");
      assert(!(error instanceof TaskTimeout));
      assert.equal(await timeoutAfter(20, () => runInProcess((x: number) => x * 3, 5)), 15);
      await stillTicking(t);
    } finally {
      await t.task.cancel();
    }
  });
});

Deno.test("fault: a child process killed with SIGKILL reports the signal; the kernel goes on", async () => {
  await run(async () => {
    const t = await ticker();
    const p = new Popen(["sleep", "30"]);
    try {
      const waiter = await spawn(() => p.wait());
      await sleep(0.05);
      Deno.kill(p.pid, "SIGKILL");
      assert.equal(await timeoutAfter(5, () => waiter.join()), -9);
      assert.equal(p.returncode, -9);
      await stillTicking(t);
    } finally {
      if (p.returncode === null) p.kill();
      await p.wait();
      await t.task.cancel();
    }
  });
});

// Each fault ends the worker in the middle of a call that would otherwise
// run for 60 s; the call must reject at once (the 20 s timeout only turns a
// hang into a failure), and with one worker allowed, the next call proves
// the pool replaced it.
const threadFaults: [string, () => unknown, RegExp][] = [
  [
    "Deno.exit(7)",
    () => {
      setTimeout(() => Deno.exit(7), 10);
      return new Promise((r) => setTimeout(r, 60_000));
    },
    /^Error: Cannot run function in a worker thread: the worker called Deno\.exit\(7\) before replying$/,
  ],
  [
    "Deno.exit() in synchronous code",
    () => Deno.exit(),
    /^Error: Cannot run function in a worker thread: the worker called Deno\.exit\(0\) before replying$/,
  ],
  [
    "node:process exit(5)",
    async () => {
      const process = (await import("node:process")).default;
      process.exit(5);
    },
    /the worker called Deno\.exit\(5\) before replying/,
  ],
  [
    "self.close()",
    () => {
      (globalThis as unknown as { close(): void }).close();
      return new Promise((r) => setTimeout(r, 60_000));
    },
    /the worker called self\.close\(\) before replying/,
  ],
  [
    "self.close() after replacing postMessage",
    () => {
      const scope = globalThis as unknown as { close(): void; postMessage(m: unknown): void };
      scope.postMessage = () => {};
      scope.close();
    },
    /the worker called self\.close\(\) before replying/,
  ],
  [
    "a crash in a timer",
    () => {
      setTimeout(() => {
        throw new URIError("bad timer");
      }, 10);
      return new Promise((r) => setTimeout(r, 60_000));
    },
    /the worker crashed before replying \(URIError: bad timer\)/,
  ],
];

for (const [what, fn, message] of threadFaults) {
  Deno.test(`fault: a worker thread that ends by ${what} mid-call rejects it at once; the pool replaces it`, async () => {
    const before = workerLimits.maxThreads;
    workerLimits.maxThreads = 1;
    try {
      await run(async () => {
        const t = await ticker();
        try {
          const id = () => ((globalThis as { id?: number }).id ??= Math.random());
          const first = await runInThread(id);
          const error = await timeoutAfter(
            20,
            () => runInThread(fn).then(() => undefined, (e) => e),
          );
          assert(error instanceof Error, "the call did not fail");
          assert.match(String(error), message);
          const second = await timeoutAfter(20, () => runInThread(id));
          assert.notEqual(second, first, "the dead worker served the next call");
          await stillTicking(t);
        } finally {
          await t.task.cancel();
        }
      });
    } finally {
      workerLimits.maxThreads = before;
    }
  });
}

Deno.test("fault: a worker thread that exits while idle is replaced; the next call does not hang", async () => {
  const before = workerLimits.maxThreads;
  workerLimits.maxThreads = 1;
  try {
    await run(async () => {
      const id = () => ((globalThis as { id?: number }).id ??= Math.random());
      const first = await runInThread(() => {
        setTimeout(() => Deno.exit(1), 20);
        return ((globalThis as { id?: number }).id ??= Math.random());
      });
      await sleep(0.2);
      const second = await timeoutAfter(20, () => runInThread(id));
      assert.notEqual(second, first, "the dead worker was handed the next call");
    });
  } finally {
    workerLimits.maxThreads = before;
  }
});

const processFaults: [string, (pid: number) => void, RegExp][] = [
  ["SIGKILL from the parent", (pid) => Deno.kill(pid, "SIGKILL"), /was killed by SIGKILL/],
  ["SIGTERM from the parent", (pid) => Deno.kill(pid, "SIGTERM"), /was killed by SIGTERM/],
];

for (const [what, fault, message] of processFaults) {
  Deno.test(`fault: a worker process ended by ${what} mid-call rejects it at once; the pool replaces it`, async () => {
    const before = workerLimits.maxProcesses;
    workerLimits.maxProcesses = 1;
    try {
      await run(async () => {
        const t = await ticker();
        try {
          const pid = await runInProcess(() => Deno.pid);
          const call = await spawn(() =>
            runInProcess(() => new Promise((r) => setTimeout(r, 60_000)))
              .then(() => undefined, (e) => e)
          );
          for (let i = 0; i < 500 && call.state !== "PROCESS_WAIT"; i++) await sleep(0.01);
          await sleep(0.05);
          fault(pid);
          const error = await timeoutAfter(20, () => call.join());
          assert(error instanceof Error, "the call did not fail");
          assert.match(String(error), message);
          const next = await timeoutAfter(20, () => runInProcess(() => Deno.pid));
          assert.notEqual(next, pid, "the dead process served the next call");
          await stillTicking(t);
        } finally {
          await t.task.cancel();
        }
      });
    } finally {
      workerLimits.maxProcesses = before;
    }
  });
}

Deno.test("fault: a worker process that kills itself or crashes mid-call rejects it at once", async () => {
  const before = workerLimits.maxProcesses;
  workerLimits.maxProcesses = 1;
  try {
    await run(async () => {
      const cases: [() => unknown, RegExp][] = [
        [() => Deno.kill(Deno.pid, "SIGKILL"), /the child process was killed by SIGKILL/],
        [() => {
          setTimeout(() => Deno.exit(9), 10);
          return new Promise((r) => setTimeout(r, 60_000));
        }, /the child process exited with code 9 before replying/],
        [() => {
          setTimeout(() => {
            throw new URIError("bad timer");
          }, 10);
          return new Promise((r) => setTimeout(r, 60_000));
        }, /the worker crashed before replying \(URIError: bad timer\)/],
      ];
      for (const [fn, message] of cases) {
        const error = await timeoutAfter(
          20,
          () => runInProcess(fn).then(() => undefined, (e) => e),
        );
        assert.match(String(error), message);
      }
      assert.equal(await timeoutAfter(20, () => runInProcess((x: number) => x + 1, 1)), 2);
    });
  } finally {
    workerLimits.maxProcesses = before;
  }
});
