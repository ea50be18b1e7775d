// For this module's other folders (http/), not part of the public API (no
// entry point exports it): start tasks from host callbacks.
//
// httpServer gets each request in a callback from Deno.serve, outside every
// task. `childSpawner()`, called once inside the server's task, returns a
// function that callback can call to start the request's task at once (its
// first cycle runs right there if nobody holds the kernel), as a child of the
// server's task, without a hop through the server task.
//
// A `namer` names such a task only when someone reads its name: httpServer
// names each request's task `METHOD /path`, and reading a request's URL
// costs more than the rest of starting its task.

import { currentCore } from "./_task_core.ts";
import type { TaskNamer } from "./_task_name.ts";
import { taskOf } from "./_task_of.ts";
import type { Task } from "./task.ts";

export type { TaskNamer };

/** Options of a task started by a {@linkcode ChildSpawner}. */
export interface ChildOptions {
  daemon?: boolean;
  /** Names the task when its name is first read. */
  namer?: TaskNamer;
}

/** Starts `fn` as a task, child of the task that made the spawner; callable outside every task. */
export type ChildSpawner = <T>(fn: () => T | Promise<T>, options?: ChildOptions) => Task<T>;

/** A spawner of children of the calling task, for host callbacks (see the top of this file). */
export function childSpawner(action: string): ChildSpawner {
  const parent = currentCore(action);
  return <T>(fn: () => T | Promise<T>, options: ChildOptions = {}): Task<T> => {
    const core = parent.sched.spawn(
      fn,
      undefined,
      options.daemon ?? false,
      false,
      parent,
      options.namer,
    );
    return taskOf<T>(core);
  };
}
