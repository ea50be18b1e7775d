import assert from "node:assert/strict";
import { AsyncLocalStorage } from "node:async_hooks";
import {
  CancelledError,
  CurioError,
  currentTask,
  Event,
  httpServer,
  Lock,
  Queue,
  run,
  runInThread,
  sleep,
  spawn,
  type Task,
  timeoutAfter,
} from "@curio/curio";
import { httpServer as httpServerFromEntry } from "@curio/curio/http";
import { captureErrors, listening, startServer } from "./_serve.ts";

/** Reads a response's status and body text. */
async function fetchText(
  url: string,
  client: Deno.HttpClient,
  init: RequestInit = {},
): Promise<[number, string]> {
  const response = await fetch(url, { ...init, client });
  return [response.status, await response.text()];
}

Deno.test("httpServer is exported from mod.ts and from the ./http entry point", () => {
  assert.equal(httpServerFromEntry, httpServer);
});

Deno.test("httpServer() runs each request in its own task named METHOD /path, a child of the server task", async () => {
  await run(async () => {
    const seen: { name: string; parentId: number | undefined; id: number }[] = [];
    await using server = await startServer(async (request) => {
      const me = await currentTask();
      seen.push({ name: me.name, parentId: me.parentId, id: me.id });
      return new Response(`${request.method} ok`);
    });
    using client = Deno.createHttpClient({});
    assert.deepEqual(await fetchText(`${server.url}/a/b?q=1`, client), [200, "GET ok"]);
    assert.deepEqual(await fetchText(`${server.url}/post`, client, { method: "POST", body: "x" }), [
      200,
      "POST ok",
    ]);
    assert.deepEqual(seen.map((s) => s.name), ["GET /a/b", "POST /post"]);
    for (const s of seen) assert.equal(s.parentId, server.task.id, "parent is the server task");
    assert.notEqual(seen[0]!.id, seen[1]!.id, "one task per request");
  });
});

Deno.test("httpServer(): a request's task starts outside every AsyncLocalStorage context, as Deno.serve's handlers do, never in another task's", async () => {
  // Deno.serve calls its handler outside every context, and so each request's
  // task is made from none. A request that arrives while another task holds
  // the kernel starts when its turn comes, and still not in that task's context.
  const app = new AsyncLocalStorage<string>();
  const seen: Array<string | undefined> = [];
  await run(async () => {
    await using server = await app.run("around the server", () =>
      startServer((_request) => {
        seen.push(app.getStore());
        return new Response("ok");
      }));
    let stop = false;
    const spinner = await spawn(() =>
      app.run("the spinner's", async () => {
        while (!stop) await sleep(0);
      })
    );
    using client = Deno.createHttpClient({});
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => fetchText(`${server.url}/`, client)),
    );
    stop = true;
    await spinner.join();
    assert.deepEqual(answers, Array.from({ length: 8 }, () => [200, "ok"]));
  });
  assert.deepEqual(seen, Array.from({ length: 8 }, () => undefined));
});

Deno.test("httpServer() handlers may use kernel operations: sleep, Lock, Queue, spawn, runInThread", async () => {
  await run(async () => {
    const lock = new Lock();
    const queue = new Queue<string>();
    let inside = 0;
    let most = 0;
    await using server = await startServer(async (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/put") {
        await queue.put("from a request");
        return new Response("put");
      }
      if (path === "/get") return new Response(await queue.get());
      if (path === "/thread") return new Response(String(await runInThread((x) => x * 2, 21)));
      await lock.acquire();
      try {
        inside++;
        most = Math.max(most, inside);
        await sleep(0.005);
        const child = await spawn(async () => "child");
        return new Response(`locked ${await child.join()}`);
      } finally {
        inside--;
        await lock.release();
      }
    });
    using client = Deno.createHttpClient({});
    const getter = fetchText(`${server.url}/get`, client); // waits in Queue.get
    const locked = await Promise.all(
      Array.from({ length: 5 }, () => fetchText(`${server.url}/lock`, client)),
    );
    for (const r of locked) assert.deepEqual(r, [200, "locked child"]);
    assert.equal(most, 1, "the lock kept the requests one at a time");
    assert.deepEqual(await fetchText(`${server.url}/thread`, client), [200, "42"]);
    assert.deepEqual(await fetchText(`${server.url}/put`, client), [200, "put"]);
    assert.deepEqual(await getter, [200, "from a request"]);
  });
});

Deno.test("httpServer(): a client disconnect cancels the request's task: CancelledError at its await, finally runs, Task.signal aborts", async () => {
  await run(async () => {
    const started = new Event();
    const cleaned = new Event();
    let task: Task | undefined;
    let error: unknown;
    let signalAborted = false;
    await using server = await startServer(async () => {
      task = await currentTask();
      await started.set();
      try {
        await sleep(3600);
      } catch (e) {
        error = e;
        throw e;
      } finally {
        signalAborted = task.signal.aborted;
        await cleaned.set();
      }
      return new Response("never sent");
    });
    using client = Deno.createHttpClient({});
    const abort = new AbortController();
    const answer = fetch(`${server.url}/hang`, { client, signal: abort.signal }).then(
      () => "answered",
      (e: Error) => e.name,
    );
    await timeoutAfter(10, () => started.wait());
    abort.abort();
    await timeoutAfter(10, () => cleaned.wait());
    assert(error instanceof CancelledError, `expected CancelledError, got ${error}`);
    assert.equal(signalAborted, true, "Task.signal aborted before finally ran");
    await task!.wait();
    assert.equal(task!.cancelled, true);
    assert.equal(task!.name, "GET /hang");
    assert.equal(await answer, "AbortError");
  });
});

Deno.test("httpServer(): a disconnect while the handler is in a foreign await cancels it at its next blocking operation", async () => {
  await run(async () => {
    const started = new Event();
    const cleaned = new Event();
    let error: unknown;
    const release = Promise.withResolvers<void>();
    await using server = await startServer(async () => {
      await started.set();
      try {
        await release.promise; // not a kernel operation: the cancel waits
        await sleep(3600);
      } catch (e) {
        error = e;
      } finally {
        await cleaned.set();
      }
      return new Response("never sent");
    });
    using client = Deno.createHttpClient({});
    const abort = new AbortController();
    const answer = fetch(`${server.url}/foreign`, { client, signal: abort.signal }).catch(() => {});
    await timeoutAfter(10, () => started.wait());
    abort.abort();
    await sleep(0.05);
    release.resolve();
    await timeoutAfter(10, () => cleaned.wait());
    assert(error instanceof CancelledError, `expected CancelledError, got ${error}`);
    await answer;
  });
});

Deno.test("httpServer(): requestTimeout cancels a request still running and answers 503", async () => {
  await run(async () => {
    let error: unknown;
    let cleaned = false;
    await using server = await startServer(async (request) => {
      if (new URL(request.url).pathname === "/quick") return new Response("quick");
      try {
        await sleep(3600);
      } catch (e) {
        error = e;
        throw e;
      } finally {
        cleaned = true;
      }
      return new Response("never sent");
    }, { requestTimeout: 0.05 });
    using client = Deno.createHttpClient({});
    assert.deepEqual(await fetchText(`${server.url}/quick`, client), [200, "quick"]);
    const [status, text] = await fetchText(`${server.url}/slow`, client);
    assert.equal(status, 503);
    assert.match(text, /timed out/);
    assert(error instanceof CancelledError, "the handler saw a cancellation at its await");
    assert.equal(cleaned, true, "its finally ran before the 503 went out");
  });
});

Deno.test("httpServer(): a failing handler gets 500 and exactly one log line per request, without a stack", async () => {
  await run(async () => {
    await using server = await startServer((request) => {
      const path = new URL(request.url).pathname;
      if (path === "/throw") throw new RangeError("bad things\n    at somewhere (file.ts:1:1)");
      if (path === "/reject") return Promise.reject(new Error("rejected"));
      if (path === "/not-a-response") return "text" as unknown as Response;
      return new Response("fine");
    });
    using client = Deno.createHttpClient({});
    const lines = await captureErrors(async () => {
      assert.equal((await fetchText(`${server.url}/throw`, client))[0], 500);
      assert.equal((await fetchText(`${server.url}/reject`, client))[0], 500);
      assert.equal((await fetchText(`${server.url}/not-a-response`, client))[0], 500);
      assert.deepEqual(await fetchText(`${server.url}/ok`, client), [200, "fine"]);
    });
    assert.equal(lines.length, 3, `expected 3 lines, got:\n${lines.join("\n")}`);
    assert.match(
      lines[0]!,
      /^httpServer: GET \/throw: handler failed: RangeError: bad things \.\.\.$/,
    );
    assert.match(lines[1]!, /^httpServer: GET \/reject: handler failed: Error: rejected$/);
    assert.match(lines[2]!, /GET \/not-a-response: .*returned string instead of a Response/);
    for (const line of lines) assert(!line.includes("\n"), "one line each");
  });
});

Deno.test("httpServer(): shutdown lets a slow request finish within the grace period and cancels one past it (503)", async () => {
  await run(async () => {
    const started = new Event();
    let running = 0;
    const finished: string[] = [];
    await using server = await startServer(async (request) => {
      const path = new URL(request.url).pathname;
      running++;
      if (running === 2) await started.set();
      try {
        await sleep(path === "/slow" ? 0.05 : 3600);
        return new Response(`${path} done`);
      } finally {
        finished.push(path);
      }
    }, { shutdownGrace: 0.5 });
    using client = Deno.createHttpClient({});
    const slow = fetchText(`${server.url}/slow`, client);
    const stuck = fetchText(`${server.url}/stuck`, client);
    await timeoutAfter(10, () => started.wait());
    await server.task.cancel(); // returns once the shutdown is over
    assert(server.task.exception instanceof CancelledError, "httpServer rethrew its cancel");
    assert.deepEqual(finished, ["/slow", "/stuck"]);
    assert.deepEqual(await slow, [200, "/slow done"]);
    const [status, text] = await stuck;
    assert.equal(status, 503);
    assert.match(text, /shutting down/);
    assert.equal(await listening(server.port), false, "the listener is closed");
  });
});

Deno.test("httpServer(): a listed signal shuts it down gracefully and httpServer returns", async () => {
  await run(async () => {
    const started = new Event();
    await using server = await startServer(async () => {
      await started.set();
      await sleep(0.05);
      return new Response("drained");
    }, { signals: ["SIGUSR2"], shutdownGrace: 5 });
    using client = Deno.createHttpClient({});
    const inFlight = fetchText(`${server.url}/`, client);
    await timeoutAfter(10, () => started.wait());
    Deno.kill(Deno.pid, "SIGUSR2");
    await timeoutAfter(10, () => server.task.join()); // resolves: a signal is no error
    assert.deepEqual(await inFlight, [200, "drained"]);
    assert.equal(await listening(server.port), false, "the listener is closed");
  });
});

Deno.test("httpServer(): cancelling it while it drains cuts the grace period short", async () => {
  await run(async () => {
    const started = new Event();
    await using server = await startServer(async () => {
      await started.set();
      await sleep(3600);
      return new Response("never sent");
    }, { signals: ["SIGUSR2"], shutdownGrace: 3600 });
    using client = Deno.createHttpClient({});
    const stuck = fetchText(`${server.url}/`, client);
    await timeoutAfter(10, () => started.wait());
    Deno.kill(Deno.pid, "SIGUSR2");
    await sleep(0.05); // the server is draining now, for an hour
    await timeoutAfter(10, () => server.task.cancel());
    assert.equal((await stuck)[0], 503);
  });
});

Deno.test("httpServer(): shutdownGrace 0 cancels in-flight requests at once", async () => {
  await run(async () => {
    const started = new Event();
    let error: unknown;
    await using server = await startServer(async () => {
      await started.set();
      try {
        await sleep(3600);
      } catch (e) {
        error = e;
        throw e;
      }
      return new Response("never sent");
    }, { shutdownGrace: 0 });
    using client = Deno.createHttpClient({});
    const stuck = fetchText(`${server.url}/`, client);
    await timeoutAfter(10, () => started.wait());
    await server.task.cancel();
    assert(error instanceof CancelledError);
    assert.equal((await stuck)[0], 503);
  });
});

Deno.test("httpServer() checks its arguments before listening", async () => {
  await run(async () => {
    const ok = () => new Response("ok");
    const bad: [() => Promise<void>, ErrorConstructor, RegExp][] = [
      [() => httpServer(1 as unknown as string, 0, ok), TypeError, /host as a string/],
      [() => httpServer("127.0.0.1", "80" as unknown as number, ok), TypeError, /port/],
      [() => httpServer("127.0.0.1", 70000, ok), RangeError, /0\.\.65535/],
      [() => httpServer("127.0.0.1", 1.5, ok), RangeError, /0\.\.65535/],
      [() => httpServer("127.0.0.1", 0, "x" as unknown as () => Response), TypeError, /handler/],
      [() => httpServer("127.0.0.1", 0, ok, { requestTimeout: 0 }), RangeError, /requestTimeout/],
      [() => httpServer("127.0.0.1", 0, ok, { requestTimeout: NaN }), RangeError, /requestTimeout/],
      [() => httpServer("127.0.0.1", 0, ok, { shutdownGrace: -1 }), RangeError, /shutdownGrace/],
      [
        () => httpServer("127.0.0.1", 0, ok, { shutdownGrace: "1" as unknown as number }),
        TypeError,
        /shutdownGrace/,
      ],
      [
        () => httpServer("127.0.0.1", 0, ok, { signals: "SIGINT" as unknown as Deno.Signal[] }),
        TypeError,
        /signals/,
      ],
      [
        () => httpServer("127.0.0.1", 0, ok, { signals: ["SIGNOPE" as Deno.Signal] }),
        RangeError,
        /unknown signal/,
      ],
      [() => httpServer("127.0.0.1", 0, ok, { cert: "x" }), TypeError, /both cert and key/],
      [
        () => httpServer("127.0.0.1", 0, ok, { reusePort: 1 as unknown as boolean }),
        TypeError,
        /reusePort/,
      ],
    ];
    for (const [call, type, message] of bad) {
      await assert.rejects(call, (e: Error) => e instanceof type && message.test(e.message));
    }
  });
  await assert.rejects(
    httpServer("127.0.0.1", 0, () => new Response("ok")),
    (e: Error) => e instanceof CurioError && /start an HTTP server/.test(e.message),
  );
});

Deno.test("httpServer(): a port in use rejects with AddrInUse and leaves nothing behind; reusePort shares it", async () => {
  await run(async () => {
    await using first = await startServer(() => new Response("first"), { reusePort: true });
    await assert.rejects(
      httpServer("127.0.0.1", first.port, () => new Response("second"), { signals: [] }),
      Deno.errors.AddrInUse,
    );
    if (Deno.build.os === "linux") {
      let port = 0;
      const second = await spawn(() =>
        httpServer("127.0.0.1", first.port, () => new Response("second"), {
          reusePort: true,
          signals: [],
          onListen: (addr) => port = addr.port,
        })
      );
      await sleep(0);
      assert.equal(port, first.port, "both servers listen on the same port");
      await second.cancel();
    }
  });
});

Deno.test("httpServer(): 1,000 requests from 50 clients with random disconnects leave no task behind", async () => {
  // A seeded generator: the same mix of requests and disconnects every run.
  let seed = 12345;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
  const tasks: Task[] = [];
  let started = 0;
  let cleaned = 0;
  await run(async () => {
    await using server = await startServer(async (request) => {
      tasks.push(await currentTask());
      started++;
      try {
        const path = new URL(request.url).pathname;
        if (path === "/slow") await sleep(0.001 + random() * 0.01);
        if (path === "/hang") await sleep(3600);
        return new Response(path);
      } finally {
        cleaned++;
      }
    }, { shutdownGrace: 0 });
    using client = Deno.createHttpClient({});
    let ok = 0;
    let aborted = 0;
    const one = async (): Promise<void> => {
      const r = random();
      const path = r < 0.4 ? "/fast" : r < 0.8 ? "/slow" : "/hang";
      const abort = new AbortController();
      const timer = path === "/fast" ? undefined : setTimeout(() => abort.abort(), random() * 20);
      try {
        const response = await fetch(`${server.url}${path}`, { client, signal: abort.signal });
        assert.equal(await response.text(), path);
        ok++;
      } catch (e) {
        if (!(e instanceof DOMException && e.name === "AbortError")) throw e;
        aborted++;
      } finally {
        clearTimeout(timer);
      }
    };
    const clientLoop = async (): Promise<void> => {
      for (let i = 0; i < 20; i++) await one();
    };
    await Promise.all(Array.from({ length: 50 }, clientLoop));
    assert.equal(ok + aborted, 1000);
    assert(aborted > 100, `expected many disconnects, got ${aborted}`);
    // Every client is done, so every request task must end by itself: the
    // ones stuck in /hang only through their client's disconnect.
    await timeoutAfter(10, async () => {
      while (cleaned < started) await sleep(0.01);
    });
  });
  // run() returned: every task ended; the sanitizers check descriptors and timers.
  assert.equal(cleaned, started, "every handler that started ran its finally");
  for (const task of tasks) assert.equal(task.terminated, true, `${task} is still running`);
});

async function hasOpenssl(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("openssl", { args: ["version"], stdout: "null" })
      .output();
    return success;
  } catch {
    return false;
  }
}

/** A throwaway CA and a certificate it signed for 127.0.0.1 (rustls will not take a self-signed CA as a server's certificate). */
async function certificate(): Promise<{ cert: string; key: string; ca: string }> {
  const dir = await Deno.makeTempDir();
  try {
    const script = [
      "set -e",
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=http-test-ca -keyout ca.key -out ca.pem",
      "openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout key.pem -out req.csr",
      "printf 'subjectAltName=IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n' > ext.cnf",
      "openssl x509 -req -in req.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile ext.cnf -out cert.pem",
    ].join("\n");
    const { success, stderr } = await new Deno.Command("sh", {
      args: ["-c", script],
      cwd: dir,
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!success) throw new Error(`Cannot make certificate: ${new TextDecoder().decode(stderr)}`);
    const read = (name: string) => Deno.readTextFile(`${dir}/${name}`);
    return { cert: await read("cert.pem"), key: await read("key.pem"), ca: await read("ca.pem") };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "httpServer() serves HTTPS with cert and key given as PEM text, still a task per request",
  ignore: !(await hasOpenssl()),
  fn: async () => {
    const { cert, key, ca } = await certificate();
    await run(async () => {
      await using server = await startServer(async (request) => {
        await sleep(0.001);
        return new Response(`${(await currentTask()).name} over ${new URL(request.url).protocol}`);
      }, { cert, key });
      using client = Deno.createHttpClient({ caCerts: [ca] });
      assert.deepEqual(await fetchText(`https://127.0.0.1:${server.port}/secure`, client), [
        200,
        "GET /secure over https:",
      ]);
      await assert.rejects(fetchText(`http://127.0.0.1:${server.port}/plain`, client));
    });
  },
});

Deno.test("httpServer() works in Deno's default (legacy) abort mode: successful responses are not taken for disconnects", async () => {
  // deno.json opts in to no-legacy-abort; run a child without it. In the
  // legacy mode Deno aborts request.signal after every successful response.
  const script = `
    import { currentTask, Event, run, sleep, spawn, timeoutAfter } from ${
    JSON.stringify(new URL("../../mod.ts", import.meta.url).href)
  };
    const results = [];
    await run(async () => {
      const started = new Event();
      let port = 0;
      const server = await spawn(() => httpServer("127.0.0.1", 0, async (request) => {
        const task = await currentTask();
        const path = new URL(request.url).pathname;
        if (path === "/hang") await started.set();
        try {
          await sleep(path === "/hang" ? 3600 : 0.01);
          return new Response("ok");
        } finally {
          results.push(path + (task.signal.aborted ? " aborted" : " kept"));
        }
      }, { signals: [], onListen: (a) => port = a.port }));
      const client = Deno.createHttpClient({});
      for (let i = 0; i < 3; i++) await (await fetch("http://127.0.0.1:" + port + "/ok", { client })).text();
      const abort = new AbortController();
      const hang = fetch("http://127.0.0.1:" + port + "/hang", { client, signal: abort.signal }).catch(() => {});
      await timeoutAfter(10, () => started.wait());
      abort.abort();
      await hang;
      await timeoutAfter(10, async () => { while (results.length < 4) await sleep(0.01); });
      await sleep(0.05); // legacy aborts after the /ok responses have long arrived
      client.close();
      await server.cancel();
    });
    console.log(JSON.stringify(results));
  `.replace("import { currentTask,", "import { httpServer, currentTask,");
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--no-config", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const writer = out.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script));
  await writer.close();
  const { success, stdout, stderr } = await out.output();
  const text = new TextDecoder().decode(stdout).trim();
  assert(success, `child failed: ${new TextDecoder().decode(stderr)}`);
  assert.deepEqual(JSON.parse(text.split("\n").at(-1)!), [
    "/ok kept",
    "/ok kept",
    "/ok kept",
    "/hang aborted",
  ]);
});

Deno.test("httpServer(): a client that leaves while its request body is being read is not logged as a failure", async () => {
  await run(async () => {
    const reading = new Event();
    const done = new Event();
    let error: unknown;
    const lines = await captureErrors(async () => {
      await using server = await startServer(async (request) => {
        await reading.set();
        try {
          return new Response(await request.text());
        } catch (e) {
          error = e;
          throw e;
        } finally {
          await done.set();
        }
      });
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
      await conn.write(
        new TextEncoder().encode(
          "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nonly a part",
        ),
      );
      await timeoutAfter(10, () => reading.wait());
      conn.close();
      await timeoutAfter(10, () => done.wait());
    });
    assert(error !== undefined, "the body read failed");
    assert.deepEqual(lines, []);
  });
});
