// The check that a fast path runs inside a task.
//
// Acquiring a free lock (or getting from a non-empty queue) completes at once
// and is not a cancellation point, but it is still only meaningful inside a
// task: the manual's primitives "can only be used in tasks", and a blocking
// call outside any task must reject with CurioError. The check is
// synchronous, so a fast path costs one resolved promise and nothing more.

import { _requireTask } from "../kernel/traps.ts";

/** A rejected promise (CurioError) when called outside a task, else undefined. */
export function outsideTask(action: string): Promise<never> | undefined {
  try {
    _requireTask(action);
    return undefined;
  } catch (error) {
    return Promise.reject(error);
  }
}
