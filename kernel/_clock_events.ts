// Lets a kernel hear about MockClock.jump() without MockClock exposing a
// subscription API to users.

const listeners = new WeakMap<object, Set<() => void>>();

/** Calls `fn` after every jump of `clock`; returns the unsubscribe function. */
export function onJump(clock: object, fn: () => void): () => void {
  let set = listeners.get(clock);
  if (set === undefined) {
    set = new Set();
    listeners.set(clock, set);
  }
  set.add(fn);
  return () => {
    set.delete(fn);
  };
}

/** Tells every kernel using `clock` that its time moved. */
export function notifyJump(clock: object): void {
  const set = listeners.get(clock);
  if (set === undefined) return;
  for (const fn of [...set]) fn();
}
