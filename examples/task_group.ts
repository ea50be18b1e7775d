/**
 * TaskGroup: structured concurrency. A group's members never outlive it:
 * - wait "all": the results of every member, in spawn order;
 * - wait "any": the first member to finish wins, the rest are cancelled;
 * - a failing member cancels its siblings and its error reaches the caller.
 *
 * `deno run -A examples/task_group.ts`
 *
 * @module
 */
import { CancelledError, run, sleep, TaskGroup } from "@curio/curio";

async function fetchish(name: string, seconds: number): Promise<string> {
  try {
    await sleep(seconds);
    console.log(`  ${name}: done after ${seconds}s`);
    return name;
  } catch (e) {
    if (e instanceof CancelledError) console.log(`  ${name}: cancelled`);
    throw e;
  }
}

async function main(): Promise<void> {
  console.log('wait "all":');
  await using all = new TaskGroup();
  await all.spawn(() => fetchish("a", 0.2));
  await all.spawn(() => fetchish("b", 0.1));
  await all.join();
  console.log("  results:", all.results);

  console.log('wait "any":');
  const any = new TaskGroup({ wait: "any" });
  await any.spawn(() => fetchish("mirror 1", 0.3));
  await any.spawn(() => fetchish("mirror 2", 0.1));
  await any.spawn(() => fetchish("mirror 3", 0.2));
  await any.join();
  console.log("  winner:", any.result);

  console.log("a failing member:");
  try {
    await TaskGroup.scope(async (g) => {
      await g.spawn(() => fetchish("slow sibling", 5));
      await g.spawn(async () => {
        await sleep(0.1);
        throw new Error("disk on fire");
      });
    });
  } catch (e) {
    console.log("  scope threw:", (e as Error).message);
  }
}

await run(main, { logErrors: false });
