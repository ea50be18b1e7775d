// The check that a fast path runs inside a task.
//
// Acquiring a free lock (or getting from a non-empty queue) completes at once
// and is not a cancellation point, but it is still only meaningful inside a
// task: the manual's primitives "can only be used in tasks", and a blocking
// call outside any task must reject with CurioError. `currentTask()` makes
// that check without becoming a cancellation point.

import { currentTask } from "../kernel/current_task.ts";

/** Resolves once the caller is known to run inside a task; rejects with CurioError otherwise. */
export function inTask(): Promise<unknown> {
  return currentTask();
}
