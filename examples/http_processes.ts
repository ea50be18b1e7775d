/**
 * One port served by N processes, one curio kernel each: `httpServer` with
 * `reusePort` (Linux spreads the incoming connections across the
 * processes). A kernel runs on one thread, so this is how a server uses
 * every core of a machine; beyond one machine, put any load balancer in
 * front.
 *
 * This file is both parts. The parent starts N children (this file again,
 * with `--child`), each running `httpServer` on the same port; sends
 * requests on fresh connections and counts which process answered; then
 * sends SIGTERM to every child, which finishes its in-flight requests and
 * exits by itself (graceful shutdown, exit code 0).
 *
 * `deno run --allow-all examples/http_processes.ts [--processes=N] [--serve]`
 * (default N = 2; `--processes=$(nproc)` for one per core; `--serve` keeps
 * them serving until Ctrl-C)
 *
 * @module
 */
import { httpServer, run, sleep, TaskGroup } from "@curio/curio";
import { PIPE, Popen } from "@curio/curio/subprocess";

const decoder = new TextDecoder();

function option(name: string): string | undefined {
  return Deno.args.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
}

/** A child: one kernel serving the shared port until SIGINT or SIGTERM. */
async function child(port: number): Promise<void> {
  let served = 0;
  await httpServer("127.0.0.1", port, async (request) => {
    served++;
    await sleep(0.002); // stands for real work: a query, a call to another service
    return new Response(`${Deno.pid} ${new URL(request.url).pathname}\n`);
  }, {
    reusePort: true,
    shutdownGrace: 5,
    onListen: (addr) => console.log(`ready ${addr.port}`), // the parent reads this line
  });
  console.error(`  child ${Deno.pid}: served ${served} requests, shut down cleanly`);
}

/** Starts a child on `port` (0: any) and returns it with the port it listens on. */
async function startChild(port: number): Promise<[Popen, number]> {
  const self = new URL(import.meta.url).pathname;
  const p = new Popen([Deno.execPath(), "run", "--allow-net", self, `--child=${port}`], {
    stdout: PIPE,
  });
  const line = decoder.decode(await p.stdout!.readline()).trim();
  const match = /^ready (\d+)$/.exec(line);
  if (match === null) {
    p.kill();
    await p.wait();
    throw new Error(`Cannot start child: expected "ready PORT", got ${JSON.stringify(line)}`);
  }
  return [p, Number(match[1])];
}

async function parent(processes: number): Promise<void> {
  // The first child picks a free port; the others join it on that port.
  const [first, port] = await startChild(0);
  const children = [first];
  for (let i = 1; i < processes; i++) children.push((await startChild(port))[0]);
  console.log(`${processes} processes serve http://127.0.0.1:${port}/`);

  if (Deno.args.includes("--serve")) {
    console.log("Ctrl-C to stop");
    await Promise.all(children.map((c) => c.wait()));
    return;
  }

  // 40 requests, 8 at a time, each on a connection of its own so that the
  // OS picks a process for each.
  const answeredBy = new Map<string, number>();
  await TaskGroup.scope(async (g) => {
    for (let worker = 0; worker < 8; worker++) {
      await g.spawn(async () => {
        for (let i = 0; i < 5; i++) {
          using client = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
          const response = await fetch(`http://127.0.0.1:${port}/hello`, { client });
          const pid = (await response.text()).split(" ")[0]!;
          answeredBy.set(pid, (answeredBy.get(pid) ?? 0) + 1);
        }
      });
    }
  });
  for (const [pid, n] of answeredBy) console.log(`process ${pid} answered ${n} requests`);

  // Graceful shutdown: SIGTERM, and each child exits by itself.
  for (const c of children) c.terminate();
  const exits: number[] = [];
  for (const c of children) exits.push(await c.wait());
  console.log(`children exited with ${exits.join(", ")}`);
  if (exits.some((code) => code !== 0)) throw new Error("Cannot stop children: one did not exit 0");
}

const childPort = option("child");
if (childPort !== undefined) {
  await run(() => child(Number(childPort)));
} else {
  const processes = Number(option("processes") ?? 2);
  if (!Number.isInteger(processes) || processes < 1) {
    throw new RangeError(`Cannot start: --processes must be an integer >= 1, got ${processes}`);
  }
  await run(() => parent(processes));
}
