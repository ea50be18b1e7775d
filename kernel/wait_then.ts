// For this module's other folders (sync/), not part of the public API (no
// entry point exports it): `_waitOnQueue` with the operation's last step
// done by the kernel as the task resumes.
//
// `_waitOnQueue(q, state).then(() => finish(arg))` costs a closure, a promise
// and a microtask hop on every wait. Here `finish(arg)` runs when a wake
// resumes the task, inside the kernel's dispatch: where the `then()` would
// run one microtask later, with no task's code in between (the resumed task
// holds the kernel, API.md rule 1; a wait under Promise.all other than the
// task's last is resumed without it, and its step still runs before the next
// task's code). It runs in the dispatcher's async context, not the task's,
// so it must not run user code or ask which task is running. Its result is
// what the wait returns, and what it throws the wait throws. A cancel or
// timeout that takes the waiter away skips it.

import { kernelQueueList } from "./_queue_list.ts";
import { currentCore, suspendInList } from "./_task_core.ts";
import type { KernelQueue } from "./traps.ts";

/**
 * Blocks the running task in `kqueue` (state `state`) until a wake, then
 * returns `finish(arg)`, computed as the task resumes.
 */
export function waitThen<A, R>(
  kqueue: KernelQueue,
  state: string,
  finish: (arg: A) => R,
  arg: A,
): Promise<R> {
  try {
    const task = currentCore("wait on a kernel queue");
    const list = kernelQueueList.of(kqueue);
    return suspendInList(
      task,
      state,
      list,
      undefined,
      finish as (arg: unknown) => unknown,
      arg,
    ) as Promise<R>;
  } catch (error) {
    return Promise.reject(error);
  }
}
