// A per-kernel pool of workers (threads or processes), at most `max()` at a
// time, created lazily and reused.
//
// Tasks that find every worker busy wait in a KernelQueue. A released
// worker is handed directly to the first waiter; when a worker dies or is
// killed (cancellation), its slot is reserved for the first waiter, which
// then starts a new worker. So a crashed or killed worker never wedges the
// pool, and the count never overshoots the limit.

import {
  _futureWait,
  _getKernel,
  _rescheduleTasks,
  _waitOnQueue,
  KernelQueue,
} from "../kernel/traps.ts";
import type { Kernel } from "../kernel/kernel.ts";

/** What the pool needs from a worker. */
export interface PoolMember {
  /** False once the worker died or was killed. */
  readonly alive: boolean;
  /** True while the worker runs a call. */
  readonly busy: boolean;
  /** Stops the worker; resolves once nothing of it is left running. */
  retire(force: boolean): Promise<void>;
}

const SLOT = Symbol("slot");

/** A pool of workers of one kind, for one kernel. */
export class Pool<W extends PoolMember> {
  readonly #create: () => W;
  readonly #max: () => number;
  readonly #state: string;
  readonly #members = new Set<W>();
  readonly #idle: W[] = [];
  readonly #waiting = new KernelQueue();
  readonly #retiring = new Set<Promise<void>>();
  #reserved = 0;
  #closed = false;

  constructor(create: () => W, max: () => number, state: string) {
    this.#create = create;
    this.#max = max;
    this.#state = state;
  }

  /** Live workers (busy or idle). */
  get size(): number {
    return this.#members.size;
  }

  /**
   * Waits (as a task, in `state`) for `worker`'s reply to a call it started,
   * then gives the worker back. A cancel that comes while the worker still
   * runs the call discards it (the pool replaces it), so cancelling really
   * stops the work.
   */
  async reply<R>(worker: W, pending: Promise<R>, state: string): Promise<R> {
    let reply: R;
    try {
      reply = await _futureWait(pending, state);
    } catch (error) {
      if (worker.busy) this.discard(worker);
      else this.release(worker);
      throw error;
    }
    this.release(worker);
    return reply;
  }

  /** An idle worker, or a new one if below the limit; `undefined` if the caller must wait. */
  tryAcquire(): W | undefined {
    const idle = this.#idle;
    while (idle.length > 0) {
      const w = idle.pop()!;
      if (w.alive) return w;
      this.discard(w);
    }
    if (this.#waiting.length === 0 && this.#members.size + this.#reserved < this.#max()) {
      return this.#add();
    }
    return undefined;
  }

  /** A worker, waiting (cancellably) for one if all are busy. */
  async acquire(): Promise<W> {
    const w = this.tryAcquire();
    if (w !== undefined) return w;
    const handed = await _waitOnQueue(this.#waiting, this.#state) as W | typeof SLOT;
    if (handed !== SLOT) return handed;
    this.#reserved--;
    return this.#add();
  }

  #add(): W {
    let w: W;
    try {
      w = this.#create();
    } catch (error) {
      this.#wakeForSlot();
      throw error;
    }
    this.#members.add(w);
    return w;
  }

  /** Gives back a worker that finished its call. */
  release(w: W): void {
    if (this.#closed || !w.alive || this.#members.size > this.#max()) {
      this.discard(w, false);
      return;
    }
    if (this.#waiting.length > 0) void _rescheduleTasks(this.#waiting, 1, w);
    else this.#idle.push(w);
  }

  /** Removes a worker (dead, or killed now) and lets a waiter start a new one. */
  discard(w: W, force = true): void {
    if (!this.#members.delete(w)) return;
    const i = this.#idle.indexOf(w);
    if (i !== -1) this.#idle.splice(i, 1);
    const done = w.retire(force).catch(() => {});
    this.#retiring.add(done);
    void done.then(() => this.#retiring.delete(done));
    this.#wakeForSlot();
  }

  #wakeForSlot(): void {
    if (
      !this.#closed && this.#waiting.length > 0 &&
      this.#members.size + this.#reserved < this.#max()
    ) {
      this.#reserved++;
      void _rescheduleTasks(this.#waiting, 1, SLOT);
    }
  }

  /** Stops every worker (busy ones by force) and waits until all are gone. */
  async close(): Promise<void> {
    this.#closed = true;
    const idle = new Set(this.#idle);
    for (const w of [...this.#members]) this.discard(w, !idle.has(w));
    this.#idle.length = 0;
    while (this.#retiring.size > 0) await Promise.all(this.#retiring);
  }
}

/** The pools of each kernel, closed by the kernel's shutdown. */
const pools = new WeakMap<Kernel, Map<string, Pool<PoolMember>>>();

/** This kernel's pool of the given kind, created on first use. */
export async function poolOf<W extends PoolMember>(
  kind: string,
  make: () => Pool<W>,
): Promise<Pool<W>> {
  return poolFor(await _getKernel(), kind, make);
}

/** `kernel`'s pool of the given kind, created on first use (no await: for hot paths). */
export function poolFor<W extends PoolMember>(
  kernel: Kernel,
  kind: string,
  make: () => Pool<W>,
): Pool<W> {
  let byKind = pools.get(kernel);
  if (byKind === undefined) {
    byKind = new Map();
    pools.set(kernel, byKind);
  }
  let pool = byKind.get(kind) as Pool<W> | undefined;
  if (pool === undefined) {
    const created = make();
    pool = created;
    byKind.set(kind, created as unknown as Pool<PoolMember>);
    kernel.onShutdown(async () => {
      byKind!.delete(kind);
      await created.close();
    });
  }
  return pool;
}
