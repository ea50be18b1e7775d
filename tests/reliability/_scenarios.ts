// Scenarios shared by several sweeps (and the soak).

import assert from "node:assert/strict";
import { sleep } from "@curio/curio";
import { assertVictimEnd, type Scenario } from "./_sweep.ts";

/** Three workers take a lock twice each; the middle one is the victim. */
export function lockScenario(
  make: () => { acquire(): Promise<unknown>; release(): Promise<void> },
  isFree: (lock: never) => boolean,
): Scenario {
  return async (ctx) => {
    const lock = make();
    let inside = 0;
    let maxInside = 0;
    const sections = new Map<string, number>();
    const worker = (name: string) => async () => {
      for (let round = 0; round < 2; round++) {
        await ctx.step(`${name} acquire ${round}`, () => lock.acquire());
        const g = ctx.enter(`${name} section ${round}`);
        try {
          inside++;
          maxInside = Math.max(maxInside, inside);
          await ctx.step(`${name} work ${round}`, () => sleep(1));
          sections.set(name, (sections.get(name) ?? 0) + 1);
        } finally {
          inside--;
          await ctx.step(`${name} release ${round}`, () => lock.release());
          ctx.leave(g);
        }
      }
    };
    const a = await ctx.spawn("a", worker("a"));
    await ctx.spawnVictim("b", worker("b"));
    const c = await ctx.spawn("c", worker("c"));
    await a.join();
    await c.join();
    await ctx.victim!.wait();
    return () => {
      assertVictimEnd(ctx);
      assert.equal(maxInside, 1, "two tasks held the lock at once");
      assert.equal(inside, 0);
      assert(isFree(lock as never), "the lock is still held or has waiters after everyone left");
      assert.equal(sections.get("a"), 2);
      assert.equal(sections.get("c"), 2);
      if (ctx.victim!.exception === undefined) assert.equal(sections.get("b"), 2);
    };
  };
}

/** Four workers share a semaphore of `permits`; the second is the victim. */
export function semaphoreScenario(
  make: () => { acquire(): Promise<unknown>; release(): Promise<void>; readonly value: number },
  permits: number,
): Scenario {
  return async (ctx) => {
    const sem = make();
    let inside = 0;
    let maxInside = 0;
    let sections = 0;
    let victimSections = 0;
    const worker = (name: string, isVictim: boolean) => async () => {
      for (let round = 0; round < 2; round++) {
        await ctx.step(`${name} acquire ${round}`, () => sem.acquire());
        const g = ctx.enter(`${name} section ${round}`);
        try {
          inside++;
          maxInside = Math.max(maxInside, inside);
          await ctx.step(`${name} work ${round}`, () => sleep(1 + round));
          if (isVictim) victimSections++;
          else sections++;
        } finally {
          inside--;
          await ctx.step(`${name} release ${round}`, () => sem.release());
          ctx.leave(g);
        }
      }
    };
    const others = [await ctx.spawn("a", worker("a", false))];
    await ctx.spawnVictim("b", worker("b", true));
    others.push(await ctx.spawn("c", worker("c", false)));
    others.push(await ctx.spawn("d", worker("d", false)));
    for (const t of others) await t.join();
    await ctx.victim!.wait();
    return () => {
      assertVictimEnd(ctx);
      assert(maxInside <= permits, `${maxInside} holders of ${permits} permits`);
      assert.equal(inside, 0);
      assert.equal(sem.value, permits, "permits lost or duplicated");
      assert.equal(sections, 6);
      if (ctx.victim!.exception === undefined) assert.equal(victimSections, 2);
    };
  };
}

/** Counts each item; throws unless `got` is `expected` as multisets. */
export function assertSameItems(got: unknown[], expected: unknown[], what: string): void {
  const key = (xs: unknown[]) => xs.map((x) => JSON.stringify(x)).sort();
  assert.deepEqual(key(got), key(expected), `${what}: items lost or duplicated`);
}
