// No starvation, measured (API.md Scheduling rule 6): while tasks keep the
// kernel busy, how late are a loopback echo round trip and a 10 ms timer?
//
//   deno task bench:latency
//
// Loads: 1 task looping on sleep(0); 100 such tasks; 50 pairs of tasks
// ping-ponging through queues. Under each load, an echo client task does
// ROUND_TRIPS round trips of 64 bytes with a curio server task (p50/p99 of
// the round trip), and a task sleeps 10 ms again and again (p50/p99 of how
// late it wakes). Goals: round trip p99 < 10 ms, timer lateness p99 < 5 ms.
// Also reports how much the busy tasks got done (cycles per second), so a
// yield that is too eager shows up as lost throughput.

import {
  Kernel,
  openConnection,
  Queue,
  runServer,
  sleep,
  type Socket,
  spawn,
  type Task,
  tcpServerSocket,
} from "@curio/curio";

const ROUND_TRIPS = 500;
const TIMER_SAMPLES = 50;
const MESSAGE = new Uint8Array(64).fill(120);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

function summary(samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  return `p50 ${percentile(s, 0.5).toFixed(2)} ms, p99 ${percentile(s, 0.99).toFixed(2)} ms`;
}

type Load = (counter: { n: number }) => Promise<Task[]>;

const loads: Record<string, Load> = {
  "idle": () => Promise.resolve([]),
  "1 sleep(0) spinner": async (counter) => [
    await spawn(async () => {
      for (;;) {
        await sleep(0);
        counter.n++;
      }
    }, { daemon: true }),
  ],
  "100 sleep(0) spinners": async (counter) => {
    const tasks = [];
    for (let i = 0; i < 100; i++) {
      tasks.push(
        await spawn(async () => {
          for (;;) {
            await sleep(0);
            counter.n++;
          }
        }, { daemon: true }),
      );
    }
    return tasks;
  },
  "50 queue ping-pong pairs": async (counter) => {
    const tasks = [];
    for (let i = 0; i < 50; i++) {
      const ping = new Queue<number>();
      const pong = new Queue<number>();
      tasks.push(
        await spawn(async () => {
          for (;;) await pong.put(await ping.get());
        }, { daemon: true }),
      );
      tasks.push(
        await spawn(async () => {
          for (let n = 0;; n++) {
            await ping.put(n);
            await pong.get();
            counter.n++;
          }
        }, { daemon: true }),
      );
    }
    return tasks;
  },
};

async function echo(client: Socket): Promise<void> {
  for (;;) {
    const data = await client.recv(65536);
    if (data.length === 0) return;
    await client.sendall(data);
  }
}

async function measure(name: string, load: Load): Promise<void> {
  await using kernel = new Kernel();
  await kernel.run(async () => {
    const server = tcpServerSocket("127.0.0.1", 0);
    const [, port] = server.getsockname() as [string, number];
    const serverTask = await spawn(() => runServer(server, echo), { daemon: true });
    const counter = { n: 0 };
    const busy = await load(counter);
    const started = performance.now();

    const timer = await spawn(async () => {
      const late: number[] = [];
      for (let i = 0; i < TIMER_SAMPLES; i++) {
        const t0 = performance.now();
        await sleep(0.01);
        late.push(performance.now() - t0 - 10);
      }
      return late;
    });
    const sock = await openConnection("127.0.0.1", port);
    const rtts: number[] = [];
    for (let i = 0; i < ROUND_TRIPS; i++) {
      const t0 = performance.now();
      await sock.sendall(MESSAGE);
      let got = 0;
      while (got < MESSAGE.length) got += (await sock.recv(65536)).length;
      rtts.push(performance.now() - t0);
    }
    await sock.close();
    const late = await timer.join();
    const seconds = (performance.now() - started) / 1000;
    for (const t of busy) await t.cancel();
    await serverTask.cancel();
    console.log(
      `${name.padEnd(26)} echo ${summary(rtts)} | 10 ms timer late ${summary(late)} | busy ${
        Math.round(counter.n / seconds).toLocaleString("en-US")
      } cycles/s`,
    );
  });
}

for (const [name, load] of Object.entries(loads)) await measure(name, load);
