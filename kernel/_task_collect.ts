// Who wants to know when a program collects a task itself.
//
// A TaskGroup member that the program collects one by one (its own `join()`
// or `wait()`) leaves the group: the failure is then the program's to handle
// and the group must not act on it. Task.join()/wait() call `noteCollected`
// once they return; the group registers a hook per member. A WeakMap keeps
// Task itself free of group knowledge and costs one lookup per join.

const hooks = new WeakMap<object, () => void>();

/** Calls `hook` (once) the next time the program's own join()/wait() of `task` returns. */
export function onCollected(task: object, hook: () => void): void {
  hooks.set(task, hook);
}

/** Forgets the hook of `task`; whether there was one. */
export function offCollected(task: object): boolean {
  return hooks.delete(task);
}

/** Called by Task.join()/wait() when they return (or throw the task's error). */
export function noteCollected(task: object): void {
  const hook = hooks.get(task);
  if (hook === undefined) return;
  hooks.delete(task);
  hook();
}
