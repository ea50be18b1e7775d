/**
 * Unix signals as something a task waits for: {@linkcode SignalSet}.
 *
 * ```ts ignore
 * import { run, SignalSet } from "@curio/curio";
 *
 * await run(async () => {
 *   await using sigset = await new SignalSet("SIGUSR1", "SIGHUP").watch();
 *   console.log("Got signal", await sigset.wait()); // try: kill -USR1 <pid>
 * });
 * ```
 *
 * How it maps onto Deno (`Deno.addSignalListener`):
 *
 * - Listeners are registered only while a set watches, a task waits or an
 *   `ignore()` is open, and removed as soon as none does. This matters: while
 *   a SIGINT listener is registered, Ctrl-C no longer ends the process; and
 *   once the last listener for a signal is gone, Deno restores its default
 *   action (SIGUSR1, SIGHUP and SIGTERM end the process again).
 * - Since Deno 2.9.2, a SIGUSR1 that arrives once the process has run for
 *   500 ms also starts the inspector on 127.0.0.1:9229 (as in Node.js),
 *   whether or not a SignalSet listens for it. Prefer SIGUSR2 for your own
 *   use.
 * - A listener does not keep Deno's event loop alive; a task blocked in
 *   `wait()` does (the kernel holds the process open while any task waits).
 * - Unix does not count signals: the same signal sent twice before the first
 *   is handled arrives once.
 * - Signals are names (`"SIGUSR1"`), not numbers. `SIGKILL` and `SIGSTOP`
 *   can never be caught (nor can `SIGSEGV`, `SIGILL`, `SIGFPE` on Deno).
 *
 * @module
 */

import { _sigignore, _sigunwatch, _sigwait, _sigwatch } from "../kernel/traps.ts";

const SIGNAL_NAMES: ReadonlySet<string> = new Set<Deno.Signal>([
  "SIGABRT",
  "SIGALRM",
  "SIGBREAK",
  "SIGBUS",
  "SIGCHLD",
  "SIGCONT",
  "SIGEMT",
  "SIGFPE",
  "SIGHUP",
  "SIGILL",
  "SIGINFO",
  "SIGINT",
  "SIGIO",
  "SIGPOLL",
  "SIGUNUSED",
  "SIGKILL",
  "SIGPIPE",
  "SIGPROF",
  "SIGPWR",
  "SIGQUIT",
  "SIGSEGV",
  "SIGSTKFLT",
  "SIGSTOP",
  "SIGSYS",
  "SIGTERM",
  "SIGTRAP",
  "SIGTSTP",
  "SIGTTIN",
  "SIGTTOU",
  "SIGURG",
  "SIGUSR1",
  "SIGUSR2",
  "SIGVTALRM",
  "SIGWINCH",
  "SIGXCPU",
  "SIGXFSZ",
]);

/** Signals the OS (SIGKILL, SIGSTOP) or Deno (the rest) never lets a process catch. */
const UNCATCHABLE: ReadonlySet<string> = new Set([
  "SIGKILL",
  "SIGSTOP",
  "SIGSEGV",
  "SIGILL",
  "SIGFPE",
]);

/**
 * A set of Unix signals a task can wait for: curio's `SignalSet`.
 *
 * - {@linkcode SignalSet.prototype.watch} starts queueing: signals that
 *   arrive while no task waits are kept, in order, not lost.
 *   `await using s = await set.watch()` stops at the end of the block.
 * - {@linkcode SignalSet.prototype.wait} returns the next signal's name
 *   (state `"SIGNAL_WAIT"` while blocked). Without `watch()` it listens only
 *   while it waits, so it catches the next signal only (as the manual warns).
 * - {@linkcode SignalSet.prototype.ignore} swallows the signals inside a
 *   `using` block (like `SIG_IGN`, for the whole process).
 *
 * Every listener added is removed when watching stops, or at the latest when
 * the kernel shuts down.
 *
 * @example Usage
 * ```ts
 * import { run, SignalSet } from "@curio/curio";
 * import assert from "node:assert/strict";
 *
 * await run(async () => {
 *   await using sigset = await new SignalSet("SIGUSR2", "SIGWINCH").watch();
 *   Deno.kill(Deno.pid, "SIGUSR2");
 *   assert.equal(await sigset.wait(), "SIGUSR2");
 * });
 * ```
 */
export class SignalSet {
  /** The signal names of this set, in the order given. */
  readonly signals: readonly Deno.Signal[];

  /**
   * Creates a set; nothing listens until `watch()`, `wait()` or `ignore()`.
   *
   * @param signals Signal names such as `"SIGUSR1"`, `"SIGHUP"`, `"SIGINT"`.
   * @throws {TypeError} If no signal is given or one is not a string.
   * @throws {RangeError} If a name is not a signal, or is one no process can
   * catch (`SIGKILL`, `SIGSTOP`).
   */
  constructor(...signals: Deno.Signal[]) {
    if (signals.length === 0) {
      throw new TypeError(
        'Cannot create SignalSet: expected at least one signal name, such as new SignalSet("SIGUSR1")',
      );
    }
    for (const signal of signals) {
      if (typeof signal !== "string") {
        throw new TypeError(
          `Cannot create SignalSet: expected signal names such as "SIGUSR1", received ${typeof signal}`,
        );
      }
      if (!SIGNAL_NAMES.has(signal)) {
        throw new RangeError(
          `Cannot create SignalSet: unknown signal "${signal}"; use a name such as "SIGUSR1" or "SIGHUP"`,
        );
      }
      if (UNCATCHABLE.has(signal)) {
        throw new RangeError(
          `Cannot create SignalSet: ${signal} can never be caught by a process (SIGKILL and SIGSTOP never reach it; Deno refuses SIGSEGV, SIGILL and SIGFPE)`,
        );
      }
    }
    this.signals = Object.freeze([...new Set(signals)]);
  }

  /**
   * Starts queueing the set's signals. Watches nest: the set stops queueing
   * when the last one is disposed.
   *
   * @returns This set, so that `await using s = await set.watch()` stops
   * watching at the end of the block.
   * @throws {RangeError} If Deno cannot listen for a signal on this platform.
   * @throws {CurioError} Outside a task.
   *
   * @example Usage
   * ```ts
   * import { run, SignalSet } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   await using sigset = await new SignalSet("SIGUSR2").watch();
   *   Deno.kill(Deno.pid, "SIGUSR2"); // queued until someone waits
   *   assert.equal(await sigset.wait(), "SIGUSR2");
   * });
   * ```
   */
  async watch(): Promise<this> {
    await _sigwatch(this);
    return this;
  }

  /**
   * Returns the next signal: the oldest queued one at once, else blocks
   * (state `"SIGNAL_WAIT"`) until one arrives. Outside `watch()` it listens
   * only while it waits: a signal sent before (or after) is not seen, and
   * may end the process by its default action.
   *
   * @returns The signal's name, e.g. `"SIGUSR1"`.
   * @throws {CancelledError} If the task is cancelled (or times out) while waiting.
   * @throws {CurioError} Outside a task.
   *
   * @example Usage
   * ```ts
   * import { run, SignalSet, spawn } from "@curio/curio";
   * import assert from "node:assert/strict";
   *
   * await run(async () => {
   *   const sigset = new SignalSet("SIGUSR2");
   *   const waiter = await spawn(() => sigset.wait());
   *   assert.equal(waiter.state, "SIGNAL_WAIT");
   *   Deno.kill(Deno.pid, "SIGUSR2");
   *   assert.equal(await waiter.join(), "SIGUSR2");
   * });
   * ```
   */
  async wait(): Promise<Deno.Signal> {
    return await _sigwait(this);
  }

  /**
   * Ignores the set's signals until the result is disposed, like `SIG_IGN`:
   * for the whole process, arrivals are swallowed (no set queues them, and
   * their default action does not happen). A plain `using` block; works
   * outside tasks too.
   *
   * @returns A disposable: `using _ = sigset.ignore()`.
   * @throws {RangeError} If Deno cannot listen for a signal on this platform.
   *
   * @example Usage
   * ```ts
   * import { run, SignalSet, sleep } from "@curio/curio";
   *
   * await run(async () => {
   *   const sigset = new SignalSet("SIGUSR2");
   *   using _ = sigset.ignore();
   *   Deno.kill(Deno.pid, "SIGUSR2"); // would end the process otherwise
   *   await sleep(0.05);
   * });
   * ```
   */
  ignore(): Disposable {
    return _sigignore(this);
  }

  /**
   * Stops watching (closes the newest `watch()`); at the last one, signals
   * still queued are dropped and the listeners removed. Does nothing if the
   * set is not watching.
   *
   * @throws {CurioError} Outside a task.
   *
   * @example Usage
   * ```ts
   * import { run, SignalSet } from "@curio/curio";
   *
   * await run(async () => {
   *   const sigset = await new SignalSet("SIGUSR2").watch();
   *   await sigset[Symbol.asyncDispose](); // what `await using` calls
   * });
   * ```
   */
  async [Symbol.asyncDispose](): Promise<void> {
    await _sigunwatch(this);
  }
}
