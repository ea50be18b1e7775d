// TCP echo of 64-byte messages: curio (tcpServer-style runServer +
// openConnection) against raw Deno.listen/Deno.connect, in the same run, on 1
// and on 50 connections. Raw is the baseline of each group.
//
//   deno bench --allow-net tests/bench/io_bench.ts
//
// Each iteration does ROUND_TRIPS round trips in total (split across the
// connections). Servers and connections are set up once, outside the timing:
// the curio side lives in one Kernel whose server is a daemon task, and each
// iteration is one `kernel.run()` of the clients.

import {
  Kernel,
  openConnection,
  runServer,
  type Socket,
  spawn,
  tcpServerSocket,
} from "@curio/curio";
import { echoRoundTrips } from "./_curio.ts";

const ROUND_TRIPS = 1000;
const MESSAGE = new Uint8Array(64).fill(120);

// --- raw Deno ---------------------------------------------------------------

async function rawEcho(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(65536);
  try {
    while (true) {
      const n = await conn.read(buf);
      if (n === null) break;
      let at = 0;
      while (at < n) at += await conn.write(buf.subarray(at, n));
    }
  } catch {
    // connection torn down at the end
  } finally {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}

const rawListener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
(async () => {
  for await (const conn of rawListener) rawEcho(conn);
})().catch(() => {});

async function rawClients(n: number): Promise<Deno.Conn[]> {
  const out: Deno.Conn[] = [];
  for (let i = 0; i < n; i++) {
    out.push(await Deno.connect({ hostname: "127.0.0.1", port: rawListener.addr.port }));
  }
  return out;
}

async function rawRoundTrips(conn: Deno.Conn, count: number, buf: Uint8Array): Promise<void> {
  for (let i = 0; i < count; i++) {
    await conn.write(MESSAGE);
    let got = 0;
    while (got < MESSAGE.length) {
      const n = await conn.read(buf);
      if (n === null) throw new Error("raw echo: unexpected EOF");
      got += n;
    }
  }
}

const raw1 = await rawClients(1);
const raw50 = await rawClients(50);

// --- curio --------------------------------------------------------------------

async function curioEcho(client: Socket): Promise<void> {
  while (true) {
    const data = await client.recv(65536);
    if (data.length === 0) break;
    await client.sendall(data);
  }
}

const kernel = new Kernel();
let curio1: Socket[] = [];
let curio50: Socket[] = [];
await kernel.run(async () => {
  const sock = tcpServerSocket("127.0.0.1", 0);
  const [host, port] = sock.getsockname() as [string, number];
  await spawn(() => runServer(sock, curioEcho), { daemon: true });
  curio1 = [await openConnection(host, port)];
  for (let i = 0; i < 50; i++) curio50.push(await openConnection(host, port));
});

// --- benches ------------------------------------------------------------------

Deno.bench({
  name: "raw Deno echo, 1 connection",
  group: "echo 64 B x1000, 1 connection",
  baseline: true,
  fn: async () => {
    await rawRoundTrips(raw1[0]!, ROUND_TRIPS, new Uint8Array(65536));
  },
});

Deno.bench({
  name: "curio echo, 1 connection",
  group: "echo 64 B x1000, 1 connection",
  fn: async () => {
    await kernel.run(() => echoRoundTrips(curio1[0]!, MESSAGE, ROUND_TRIPS));
  },
});

Deno.bench({
  name: "raw Deno echo, 50 connections",
  group: "echo 64 B x1000, 50 connections",
  baseline: true,
  fn: async () => {
    const per = ROUND_TRIPS / raw50.length;
    await Promise.all(raw50.map((c) => rawRoundTrips(c, per, new Uint8Array(65536))));
  },
});

Deno.bench({
  name: "curio echo, 50 connections",
  group: "echo 64 B x1000, 50 connections",
  fn: async () => {
    const per = ROUND_TRIPS / curio50.length;
    await kernel.run(async () => {
      const tasks = [];
      for (const s of curio50) tasks.push(await spawn(() => echoRoundTrips(s, MESSAGE, per)));
      for (const t of tasks) await t.join();
    });
  },
});

// Teardown when the process ends (deno bench has no after-all hook).
globalThis.addEventListener("unload", () => {
  for (const c of [...raw1, ...raw50]) {
    try {
      c.close();
    } catch { /* closed */ }
  }
  try {
    rawListener.close();
  } catch { /* closed */ }
  curio1 = [];
  curio50 = [];
});
