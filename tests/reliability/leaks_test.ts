// Leaks: after run() returns, nothing of ours is left open. The sanitizers
// (--sanitize-ops --sanitize-resources) check every test; this one also
// counts the process's open file descriptors (Deno 2 has no
// Deno.resources()) around a kernel run that cancels every kind of
// operation mid-flight: socket reads and accepts, a server with clients, a
// child process, a worker thread call, a signal wait, timeouts.

import assert from "node:assert/strict";
import {
  ignoreAfter,
  openConnection,
  run,
  runInThread,
  runServer,
  SignalSet,
  sleep,
  type Socket,
  spawn,
  tcpServerSocket,
} from "@curio/curio";
import { socketpair } from "@curio/curio/socket";
import { PIPE, Popen } from "@curio/curio/subprocess";

function openFds(): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    try {
      out.push(Deno.readLinkSync(`/proc/self/fd/${e.name}`));
    } catch {
      // the directory's own descriptor, closed while listing
    }
  }
  return out.sort();
}

/** Waits (real time) until the descriptor count is back to `want`, or gives up. */
async function settle(want: number): Promise<string[]> {
  let fds = openFds();
  for (let i = 0; i < 50 && fds.length > want; i++) {
    await new Promise((r) => setTimeout(r, 20));
    fds = openFds();
  }
  return fds;
}

async function workload(): Promise<void> {
  // A socket read cancelled by a timeout, then the pair closed.
  const [a, b] = socketpair();
  await ignoreAfter(0.02, () => b.recv(10));
  await a.close();
  await b.close();
  // A server with two clients, cancelled while they are mid-read.
  const listener = tcpServerSocket("127.0.0.1", 0);
  const [, port] = listener.getsockname() as [string, number];
  const server = await spawn(() =>
    runServer(listener, async (client: Socket) => {
      await client.recv(10);
    })
  );
  const clients = [
    await openConnection("127.0.0.1", port),
    await openConnection("127.0.0.1", port),
  ];
  await sleep(0.02);
  await server.cancel();
  for (const c of clients) await c.close();
  // A child process whose wait is cancelled (it is killed and reaped).
  const p = new Popen(["sleep", "30"], { stdout: PIPE });
  await ignoreAfter(0.05, () => p.wait());
  await p[Symbol.asyncDispose]();
  // A worker call cancelled while it waits.
  await ignoreAfter(0.05, () => runInThread(() => new Promise((r) => setTimeout(r, 500))));
  // A signal wait cancelled.
  const signals = new SignalSet("SIGUSR2");
  await ignoreAfter(0.02, async () => {
    await using watching = await signals.watch();
    await watching.wait();
  });
}

Deno.test("leaks: after run() returns, every descriptor a cancelled workload opened is closed", async () => {
  // Deno opens two descriptors of its own around half a second after start
  // and on first network use; warm up once so the baseline includes them.
  await run(workload);
  await new Promise((r) => setTimeout(r, 600));
  const before = openFds();
  for (let i = 0; i < 3; i++) await run(workload);
  const after = await settle(before.length);
  assert.deepEqual(after, before, "descriptors left open after run() returned");
});
