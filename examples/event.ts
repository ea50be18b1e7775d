/**
 * Event: three waiters wake up together when the event is set (the manual's
 * Event example, with 0.1 s instead of 5 s).
 *
 * `deno run -A examples/event.ts`
 *
 * @module
 */
import { Event, run, sleep, spawn } from "@curio/curio";

async function waiter(evt: Event, name: string): Promise<void> {
  console.log(`${name}: waiting`);
  await evt.wait();
  console.log(`${name}: running`);
}

async function main(): Promise<void> {
  const evt = new Event();
  // Create a few waiters
  await spawn(() => waiter(evt, "waiter 1"));
  await spawn(() => waiter(evt, "waiter 2"));
  await spawn(() => waiter(evt, "waiter 3"));

  await sleep(0.1);

  // Set the event. All waiters should wake up
  console.log("main: setting the event");
  await evt.set();
}

await run(main);
