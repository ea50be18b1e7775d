// The descriptor census run by leaks_test.ts in a process of its own (file
// descriptors are per process, and `deno test --parallel` runs other test
// files in this one). Prints {"before": [...], "after": [...]}: the open
// descriptors before and after three kernel runs that cancel every kind of
// operation mid-flight.

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

// Deno opens two descriptors of its own around half a second after start
// and on first network use; warm up once so the baseline includes them.
await run(workload);
await new Promise((r) => setTimeout(r, 600));
const before = openFds();
for (let i = 0; i < 3; i++) await run(workload);
const after = await settle(before.length);
console.log(JSON.stringify({ before, after }));
