/**
 * A lock and a queue that Web Workers and kernel tasks can share: the
 * TypeScript counterparts of Python's `threading.Lock` and `queue.Queue` in
 * the manual's `abide` examples.
 *
 * Both live in a `SharedArrayBuffer` and synchronize with `Atomics`:
 *
 * - **In a worker thread** use their blocking methods (`acquire()`,
 *   `get()`, `put()`, ...), which wait with `Atomics.wait`, exactly like
 *   Python code uses a `threading.Lock`.
 * - **In a kernel task** never call those (they would block the kernel):
 *   go through {@linkcode abide}. `abide(lock)` gives an async lock whose
 *   waits park only the calling task (`Atomics.waitAsync`);
 *   `await abide(q.get)` gets an item the same way. These waits are
 *   cancellable and leave no trace when cancelled.
 * - Pass them to {@linkcode runInThread} as arguments (top-level arguments
 *   arrive in the worker as working `SharedLock`/`SharedQueue` objects), or
 *   send `.buffer` to your own `Worker` and rebuild them there with
 *   `SharedLock.fromBuffer()` / `SharedQueue.fromBuffer()`.
 * - They cannot cross process boundaries (`runInProcess` rejects them).
 * - Waiters are woken all at once and race for the lock: there is no FIFO
 *   hand-off across threads (Python's `threading.Lock` promises none either).
 *   A worker terminated while it holds the lock leaves it locked.
 *
 * The lock is `shared_lock.ts`, the queue `shared_queue.ts` (its memory
 * layout `_shared_ring.ts`), and how both wait `_atomic_wait.ts`.
 *
 * @module
 */

export * from "./shared_lock.ts";
export * from "./shared_queue.ts";
