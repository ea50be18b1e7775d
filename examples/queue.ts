/**
 * Queue: a producer puts ten items and waits until they are all processed;
 * the consumer marks each one done (the manual's Queue example).
 *
 * `deno run -A examples/queue.ts`
 *
 * @module
 */
import { Queue, run, sleep, spawn } from "@curio/curio";

async function producer(queue: Queue<number>): Promise<void> {
  for (let n = 0; n < 10; n++) {
    await queue.put(n);
  }
  await queue.join();
  console.log("Producer done");
}

async function consumer(queue: Queue<number>): Promise<void> {
  for await (const item of queue) {
    console.log("Consumer got", item);
    await sleep(0.01);
    await queue.taskDone();
  }
}

async function main(): Promise<void> {
  const q = new Queue<number>();
  const prodTask = await spawn(() => producer(q));
  const consTask = await spawn(() => consumer(q));
  await prodTask.join();
  await consTask.cancel();
}

await run(main);
