// The kernel's deadline heap (kernel/_time_queue.ts), tested directly: which
// entry popDue hands out, in which order, and what it skips.
import assert from "node:assert/strict";
import { type Expirable, TimeQueue, TimerEntry } from "../../kernel/_time_queue.ts";

function entry(deadline: number, label: string, log: string[]): TimerEntry {
  const target: Expirable = { expire: () => log.push(label) };
  return new TimerEntry(deadline, target);
}

function popAll(queue: TimeQueue, now: number): void {
  for (let e = queue.popDue(now); e !== undefined; e = queue.popDue(now)) e.target.expire(now);
}

Deno.test("TimeQueue.popDue hands out due entries earliest first, equal deadlines in insertion order", () => {
  const queue = new TimeQueue();
  const log: string[] = [];
  for (
    const [deadline, label] of [[3, "c"], [1, "a1"], [2, "b"], [1, "a2"], [9, "late"]] as const
  ) {
    queue.insert(entry(deadline, label, log));
  }
  popAll(queue, 3);
  assert.deepEqual(log, ["a1", "a2", "b", "c"], "due entries out of (deadline, insertion) order");
  assert.equal(queue.size, 1, "the entry not yet due should still be queued");
  assert.equal(queue.next(), 9);
  assert.equal(queue.popDue(8.999), undefined, "an entry was handed out before its deadline");
});

Deno.test("TimeQueue.popDue skips cancelled entries, including one cancelled by an earlier expiry", () => {
  const queue = new TimeQueue();
  const log: string[] = [];
  const second = entry(1, "second", log);
  queue.insert(entry(0, "early", log));
  const cancelled = entry(0.5, "cancelled", log);
  queue.insert(cancelled);
  cancelled.cancel();
  queue.insert(new TimerEntry(1, { expire: () => (log.push("first"), second.cancel()) }));
  queue.insert(second);
  popAll(queue, 1);
  assert.deepEqual(log, ["early", "first"], "a cancelled entry was expired");
  assert.equal(queue.size, 0, "live count should be back to zero");
});

Deno.test("TimeQueue.popDue also hands out an entry an expiry added that is already due", () => {
  const queue = new TimeQueue();
  const log: string[] = [];
  queue.insert(
    new TimerEntry(1, {
      expire: () => {
        log.push("first");
        queue.insert(entry(1, "added", log));
        queue.insert(entry(2, "later", log));
      },
    }),
  );
  popAll(queue, 1);
  assert.deepEqual(log, ["first", "added"], "a due entry added during expiry was not expired");
  assert.equal(queue.next(), 2);
});
