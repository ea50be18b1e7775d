import assert from "node:assert/strict";
import {
  CancelledError,
  openConnection,
  openUnixConnection,
  run,
  runServer,
  sleep,
  type Socket,
  spawn,
  tcpServer,
  tcpServerSocket,
  unixServer,
} from "@curio/curio";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

async function echo(client: Socket): Promise<void> {
  while (true) {
    const data = await client.recv(65536);
    if (data.length === 0) break;
    await client.sendall(data);
  }
}

Deno.test("tcpServerSocket() with port 0 is bound and listening on an ephemeral port", async () => {
  const sock = tcpServerSocket("127.0.0.1", 0);
  const [host, port] = sock.getsockname() as [string, number];
  assert.equal(host, "127.0.0.1");
  assert(port > 0);
  const conn = await Deno.connect({ hostname: host, port });
  conn.close();
  await sock.close();
});

Deno.test("tcpServer + openConnection: the manual's echo server", async () => {
  await run(async () => {
    const sock = tcpServerSocket("127.0.0.1", 0);
    const [host, port] = sock.getsockname() as [string, number];
    const server = await spawn(() => runServer(sock, echo));
    await using c = await openConnection(host, port);
    await c.sendall(enc("Hello"));
    assert.equal(dec(await c.recv(100)), "Hello");
    await server.cancel();
  });
});

Deno.test("tcpServer() serves 50 concurrent clients, each in its own task", async () => {
  await run(async () => {
    const sock = tcpServerSocket("127.0.0.1", 0);
    const [host, port] = sock.getsockname() as [string, number];
    const server = await spawn(() => runServer(sock, echo));
    const clients = [];
    for (let i = 0; i < 50; i++) {
      clients.push(
        await spawn(async () => {
          await using c = await openConnection(host, port);
          const s = c.asStream();
          for (let j = 0; j < 20; j++) {
            await s.write(enc(`client ${i} line ${j}\n`));
            assert.equal(dec(await s.readline()), `client ${i} line ${j}\n`);
          }
        }),
      );
    }
    for (const t of clients) await t.join();
    await server.cancel();
  });
});

Deno.test("runServer() closes the client socket when the handler returns", async () => {
  await run(async () => {
    const sock = tcpServerSocket("127.0.0.1", 0);
    const [host, port] = sock.getsockname() as [string, number];
    const server = await spawn(() =>
      runServer(sock, async (client) => {
        await client.sendall(enc("bye"));
      })
    );
    await using c = await openConnection(host, port);
    assert.equal(dec(await c.asStream().readall()), "bye", "EOF after the handler returned");
    await server.cancel();
  });
});

Deno.test("runServer() survives a failing handler and closes that client", async () => {
  await run(async () => {
    const sock = tcpServerSocket("127.0.0.1", 0);
    const [host, port] = sock.getsockname() as [string, number];
    let calls = 0;
    const server = await spawn(() =>
      runServer(sock, async (client) => {
        calls++;
        if (calls === 1) throw new RangeError("handler bug");
        await client.sendall(enc("second ok"));
      })
    );
    {
      await using c1 = await openConnection(host, port);
      assert.equal((await c1.recv(10)).length, 0, "the failed client's socket was closed");
    }
    await using c2 = await openConnection(host, port);
    assert.equal(dec(await c2.asStream().readall()), "second ok");
    assert.equal(server.terminated, false);
    await server.cancel();
  }, { logErrors: false });
});

Deno.test("cancelling the server closes the listener and cancels its client tasks", async () => {
  await run(async () => {
    const sock = tcpServerSocket("127.0.0.1", 0);
    const [host, port] = sock.getsockname() as [string, number];
    const trace: string[] = [];
    const server = await spawn(() =>
      runServer(sock, async (client) => {
        trace.push("client started");
        try {
          await client.recv(10); // the test client never sends
        } catch (e) {
          if (e instanceof CancelledError) trace.push("client cancelled");
          throw e;
        }
      })
    );
    await using c = await openConnection(host, port);
    while (trace.length === 0) await sleep(0.001);
    assert.equal(await server.cancel(), true);
    assert.deepEqual(trace, ["client started", "client cancelled"]);
    assert.equal((await c.recv(10)).length, 0, "the client socket was closed");
    await assert.rejects(Deno.connect({ hostname: host, port }), Deno.errors.ConnectionRefused);
  });
});

Deno.test("tcpServer() runs until cancelled and frees its port", async () => {
  await run(async () => {
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = probe.addr.port;
    probe.close();
    const server = await spawn(() => tcpServer("127.0.0.1", port, echo));
    await sleep(0);
    await using c = await openConnection("127.0.0.1", port);
    await c.sendall(enc("x"));
    assert.equal(dec(await c.recv(1)), "x");
    await server.cancel();
    // Deno drops the OS socket once its cancelled accept op has wound down.
    let err: unknown;
    for (let i = 0; i < 50; i++) {
      err = await openConnection("127.0.0.1", port).then((s) => s.close(), (e) => e);
      if (err instanceof Deno.errors.ConnectionRefused) break;
      await sleep(0.01);
    }
    assert(err instanceof Deno.errors.ConnectionRefused, `expected ConnectionRefused, got ${err}`);
  });
});

Deno.test("unixServer() + openUnixConnection() echo", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await run(async () => {
      const path = `${dir}/echo.sock`;
      const server = await spawn(() => unixServer(path, echo));
      await sleep(0);
      await using c = await openUnixConnection(path);
      await c.sendall(enc("over unix"));
      assert.equal(dec(await c.recv(100)), "over unix");
      await server.cancel();
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openConnection() to a closed port throws ConnectionRefused", async () => {
  await run(async () => {
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = l.addr.port;
    l.close();
    await assert.rejects(openConnection("127.0.0.1", port), Deno.errors.ConnectionRefused);
  });
});

Deno.test("openConnection() refuses a source address Deno cannot honour", async () => {
  await run(async () => {
    await assert.rejects(
      openConnection("127.0.0.1", 1, { sourceAddr: ["127.0.0.2", 5000] }),
      /Deno cannot choose the local address/,
    );
  });
});

Deno.test("a client that resets mid-conversation fails only its own handler task", async () => {
  await run(async () => {
    const sock = tcpServerSocket("127.0.0.1", 0);
    const [host, port] = sock.getsockname() as [string, number];
    const errors: unknown[] = [];
    const server = await spawn(() =>
      runServer(sock, async (client) => {
        try {
          for (let i = 0; i < 200; i++) {
            await client.sendall(new Uint8Array(65536));
            await sleep(0.001);
          }
        } catch (e) {
          errors.push(e);
        }
      })
    );
    const c = await openConnection(host, port);
    await c.recv(10);
    await c.close();
    while (errors.length === 0) await sleep(0.005);
    assert(
      errors[0] instanceof Deno.errors.BrokenPipe ||
        errors[0] instanceof Deno.errors.ConnectionReset,
    );
    // The server still serves.
    await using c2 = await openConnection(host, port);
    assert((await c2.recv(10)).length > 0);
    await server.cancel();
  });
});

Deno.test("openConnection() to a name that does not resolve says which host", async () => {
  await run(async () => {
    await assert.rejects(
      openConnection("no-such-host.invalid", 80),
      (e) => e instanceof Error && e.message.includes("no-such-host.invalid"),
    );
  });
});
