// For this module's other folders (io/), not part of the public API (no
// entry point exports it): a place where one task at a time waits for its
// owner to wake it, and the owner hears of a cancel or timeout the moment it
// takes the waiter away.
//
// A KernelQueue waiter that is cancelled just leaves; an owner that must
// account for the cancel (Writer.sendAll puts the bytes already sent on the
// CancelledError) would have to catch the rejection, and a handler on the
// waiter's promise costs a promise and a microtask hop on every wait, not
// only on the cancelled ones. `onInterrupt` runs instead, inside the kernel,
// before the CancelledError reaches the task.

import { currentCore, suspendInList, TrapList } from "./_task_core.ts";

/** One waiting task at most, woken by the slot's owner. */
export class WaitSlot {
  #list = new TrapList();
  #onInterrupt: (error: unknown) => void;

  /**
   * @param onInterrupt Called when a cancel or timeout takes the waiter
   * away, with its error (undefined when the waiting task ended without
   * awaiting the wait), before the error reaches the task.
   */
  constructor(onInterrupt: (error: unknown) => void) {
    this.#onInterrupt = onInterrupt;
  }

  /** Whether a task waits here. */
  get waiting(): boolean {
    return this.#list.length > 0;
  }

  /**
   * Blocks the running task in state `state` until {@linkcode wake} or
   * {@linkcode fail}, or raises the cancel or timeout pending for it (after
   * `onInterrupt`). The caller makes sure no other task waits.
   */
  wait(state: string): Promise<unknown> {
    try {
      const task = currentCore("wait");
      const waited = suspendInList(task, state, this.#list, this.#onInterrupt);
      // Not waiting: a cancel or timeout that was pending is raised instead,
      // and the owner hears of it as of one that took the waiter away.
      if (this.#list.length === 0) this.#onInterrupt(task.pending);
      return waited;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The waiter resumes with `value` (a commitment: a later cancel waits for its next wait). */
  wake(value?: unknown): void {
    this.#list.shift()?.wake(value);
  }

  /** The waiter resumes by throwing `error`. */
  fail(error: unknown): void {
    this.#list.shift()?.fail(error);
  }
}
