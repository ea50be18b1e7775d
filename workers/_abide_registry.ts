// How shared.ts tells abide() what a cross-thread object or bound method
// means for a kernel task: a non-blocking async twin.

/** Async twins of thread-blocking operations, keyed by the object or bound method. */
export const abideTwins: WeakMap<object, (...args: unknown[]) => unknown> = new WeakMap();
