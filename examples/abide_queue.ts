/**
 * The manual's second `abide` example: a thread produces into a queue that
 * a task consumes.
 *
 * The producer is a Web Worker (run by `runInThread`) using a
 * `SharedQueue` with its blocking `put()`, like Python's `queue.Queue`; the
 * consumer task gets items with `await abide(q.get)`, which waits without
 * blocking the kernel.
 *
 * `deno run examples/abide_queue.ts`
 *
 * @module
 */
import { abide, run, runInThread, SharedQueue, spawn } from "@curio/curio";

// A thread
function producer(queue: SharedQueue<number | null>): void {
  for (let n = 0; n < 10; n++) {
    queue.put(n);
  }
  queue.join();
  console.log("Producer done");
  queue.put(null);
}

// A curio task
async function consumer(queue: SharedQueue<number | null>): Promise<void> {
  for (;;) {
    const item = await abide(queue.get);
    if (item === null) break;
    console.log("Consumer got", item);
    await abide(queue.taskDone);
  }
  console.log("Consumer done");
}

async function main(): Promise<void> {
  const q = new SharedQueue<number | null>();
  const thread = await spawn(() => runInThread(producer, q));
  await consumer(q);
  await thread.join();
}

await run(main);
