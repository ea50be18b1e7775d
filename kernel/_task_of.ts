import type { TaskCore } from "./_task_core.ts";
import { Task } from "./task.ts";

/** The public Task of a task record, created on first use. */
export function taskOf<T = unknown>(core: TaskCore): Task<T> {
  return (core.facade ?? new Task<T>(core)) as Task<T>;
}
