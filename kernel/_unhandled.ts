// Names the task behind an unhandled promise rejection.
//
// A promise made inside a task that rejects with nobody handling it ends the
// process, as Deno does for any program ("Uncaught (in promise)", exit 1):
// this does not change that. It only prints one line first, naming the task
// that was running when the promise was rejected, which Deno's report cannot
// know.
//
// That task comes from the task context (`context`, an AsyncLocalStorage):
// Deno dispatches "unhandledrejection" in the async context in which the
// promise was rejected. For the usual cases (an async function called and
// not awaited, `Promise.reject()`, a promise rejected by a timer or an
// operation the task started) that is the task that made the promise. A
// promise rejected from another task's code (its `reject` function handed
// over) names that other task.
//
// Cost: one listener, installed once per process by the first run(); nothing
// per task or per promise.

import { context } from "./_task_core.ts";

let installed = false;

/** Installs the report (once per process; later calls do nothing). */
export function reportUnhandledRejections(): void {
  if (installed) return;
  installed = true;
  globalThis.addEventListener("unhandledrejection", (event) => {
    // A listener that handled it (registered earlier) has the last word.
    if (event.defaultPrevented) return;
    const core = context.getStore();
    if (core === undefined) return;
    console.error(
      `curio: unhandled promise rejection in task ${core.id} ${
        JSON.stringify(core.name)
      } (the task running when the promise was rejected); Deno ends the program (exit 1). Await the promise, run it as a task (TaskGroup, spawn then join) or wait() for it.`,
    );
  });
}
