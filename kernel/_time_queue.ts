// The kernel's deadlines: one binary min-heap ordered by (deadline, seq).
//
// Invariants:
// - `#heap` holds live and dead entries; `#live` counts the live ones.
// - An entry is removed lazily: `cancel()` marks it dead, and dead entries are
//   dropped when they reach the top, or all at once when they outnumber the
//   live ones (timeouts that finish early are the common case, so without the
//   rebuild a loop of short operations under a long timeout would pile up).

/** Something that happens when its deadline passes. */
export interface Expirable {
  expire(now: number): void;
}

/** A scheduled deadline; `cancel()` it when it is no longer wanted. */
export class TimerEntry {
  dead = false;
  /** Tie-breaker between equal deadlines: insertion order (set by TimeQueue). */
  seq = 0;
  /** The queue the entry is in, once inserted. */
  queue: TimeQueue | undefined = undefined;
  /** What expires: `target`, or the entry itself (a subclass, as a timeout block is). */
  readonly target: Expirable;

  constructor(readonly deadline: number, target?: Expirable) {
    this.target = target ?? (this as unknown as Expirable);
  }

  cancel(): void {
    if (this.dead) return;
    this.dead = true;
    this.queue?.entryDied();
  }
}

function before(a: TimerEntry, b: TimerEntry): boolean {
  return a.deadline < b.deadline || (a.deadline === b.deadline && a.seq < b.seq);
}

export class TimeQueue {
  #heap: TimerEntry[] = [];
  #live = 0;
  #seq = 0;

  get size(): number {
    return this.#live;
  }

  /** Inserts an entry (a TimerEntry, or a subclass that is its own target). */
  insert(entry: TimerEntry): void {
    entry.seq = this.#seq++;
    entry.queue = this;
    this.#live++;
    const heap = this.#heap;
    heap.push(entry);
    this.#up(heap.length - 1);
  }

  entryDied(): void {
    this.#live--;
    if (this.#heap.length > 64 && this.#heap.length > 3 * this.#live) this.#rebuild();
  }

  /** The earliest live deadline, or undefined. */
  next(): number | undefined {
    this.#dropDeadTop();
    return this.#heap[0]?.deadline;
  }

  /**
   * Removes and returns the earliest live entry whose deadline is <= now,
   * or undefined. One at a time, not an array of them: the kernel pops
   * after every few switches, and an array per call was ~170 B per task
   * woken in a row of 20k sleepers.
   */
  popDue(now: number): TimerEntry | undefined {
    this.#dropDeadTop();
    const top = this.#heap[0];
    if (top === undefined || top.deadline > now) return undefined;
    this.#popTop();
    top.dead = true;
    this.#live--;
    return top;
  }

  #dropDeadTop(): void {
    const heap = this.#heap;
    while (heap.length > 0 && heap[0]!.dead) this.#popTop();
  }

  #popTop(): void {
    const heap = this.#heap;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      this.#down(0);
    }
  }

  #rebuild(): void {
    const heap = this.#heap.filter((e) => !e.dead);
    this.#heap = heap;
    for (let i = (heap.length >> 1) - 1; i >= 0; i--) this.#down(i);
  }

  #up(i: number): void {
    const heap = this.#heap;
    const item = heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent]!;
      if (!before(item, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = item;
  }

  #down(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const item = heap[i]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && before(heap[right]!, heap[child]!)) child = right;
      if (!before(heap[child]!, item)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = item;
  }
}
