// `Atomics.waitAsync` does not keep Deno's event loop alive by itself: a task
// waiting only on one would let the process exit under it ("Promise
// resolution is still pending"). While any task waits on a shared-memory
// word, one ref'd (and otherwise idle) interval keeps the loop running.

let holders = 0;
let handle: ReturnType<typeof setInterval> | undefined;

/** Keeps the event loop alive until the matching `unhold()`. */
export function hold(): void {
  if (holders++ === 0) handle = setInterval(() => {}, 1e9);
}

/** Releases one `hold()`; the last one clears the interval. */
export function unhold(): void {
  if (--holders === 0 && handle !== undefined) {
    clearInterval(handle);
    handle = undefined;
  }
}
