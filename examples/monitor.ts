/**
 * The monitor: look inside a running program, see every task, where it is
 * blocked, and cancel one.
 *
 * `deno run --allow-net examples/monitor.ts`
 *
 * A real program passes `withMonitor: true` (127.0.0.1:48802) and you connect
 * from another terminal with `deno task monitor` (or `nc 127.0.0.1 48802`);
 * `withMonitor: { web: true }` or `deno task monitor --web` adds a live web
 * page. To finish by itself, this example listens on a free port and talks
 * to its own monitor, using curio's short forms (`p`, `pa`, `w`, `c`).
 *
 * @module
 */
import { run, sleep, spawn } from "@curio/curio";
import { _getKernel } from "@curio/curio/traps";
import { connectMonitor } from "@curio/curio/monitor";

async function ticker(): Promise<void> {
  for (;;) await sleep(0.05);
}

async function slowJob(seconds: number): Promise<string> {
  await sleep(seconds);
  return "done";
}

async function main(): Promise<void> {
  await spawn(ticker, { daemon: true });
  const job = await spawn(() => slowJob(60), { name: "slowJob" });
  await sleep(0.2); // let the ticker tick a few times

  const [host, port] = (await _getKernel()).monitorAddress!;
  console.log(`monitor listening on ${host}:${port}\n`);
  await using monitor = await connectMonitor({ host, port });
  for (const command of ["p", `pa ${job.id}`, `w ${job.id}`, `c ${job.id}`, "p"]) {
    console.log(`curio > ${command}`);
    console.log(await monitor.command(command));
    console.log();
  }
  console.log(`slowJob cancelled: ${job.cancelled}`);
}

await run(main, { withMonitor: { port: 0, onListen: () => {} } });
