// The kernel side of Unix signals: what `_sigwatch`, `_sigunwatch`,
// `_sigwait` and `_sigignore` (traps.ts) are built on.
//
// Deno delivers a signal to every function registered with
// `Deno.addSignalListener`. We register at most ONE listener per signal name
// (a `Dispatch`), shared by every signal set interested in that signal, and
// remove it as soon as nobody is interested any more. That matters on Deno:
// - a registered listener keeps the process alive (a forgotten SIGUSR1
//   listener means `deno run` never exits), and
// - while any SIGINT listener is registered, Ctrl-C no longer ends the
//   process.
// Once the last listener for a signal is removed, Deno restores the signal's
// default action (SIGUSR1 and SIGHUP kill the process again).
//
// Per signal set (keyed by the object, in a WeakMap) the kernel keeps a
// `SigState`:
// - `watches`: how many `_sigwatch` calls are open. While > 0, signals that
//   arrive when no task waits are queued in `pending`, not lost.
// - `waiters`: the tasks blocked in `_sigwait`, FIFO. A signal is handed to
//   the first waiter (waking is a commitment: that task owns the signal).
// The set is subscribed to its signals' dispatches while it watches or has
// waiters. So `_sigwait` without `_sigwatch` listens only while it waits and
// catches the next signal only, as the manual warns.
//
// `_sigignore` is SIG_IGN: while any ignore is open for a signal, its
// dispatch swallows every arrival, for every set (as SIG_IGN would, process
// wide), and the listener keeps the default action (death) away.
//
// Deno 2.9 does not let a signal listener keep the event loop alive (a
// promise waiting only for a signal ends `deno test` with "Promise resolution
// is still pending"). So while any task waits in `_sigwait`, a ref'd idle
// interval timer holds the process open; it is cleared when the last waiter
// leaves. A set that only watches (nobody waiting) does not keep Deno alive.
//
// A watch also registers a kernel shutdown hook, so a set left watching when
// `run()` ends is unwatched and its listeners removed.
//
// Deno coalesces a signal sent again before the first is handled (standard
// Unix signals are not counted), so two quick SIGUSR1s may arrive as one.

import { currentCore, suspend, type Trap, TrapList } from "./_task_core.ts";

/** What the signal traps accept: an object naming the signals it is about. */
export interface SignalSource {
  /** The signal names, e.g. `["SIGUSR1", "SIGHUP"]`. */
  readonly signals: readonly Deno.Signal[];
}

/** The one Deno listener for one signal name, shared by every interested set. */
class Dispatch {
  readonly sets: Set<SigState> = new Set();
  ignores = 0;
  readonly listener: () => void;

  constructor(readonly signal: Deno.Signal) {
    this.listener = () => this.#arrived();
  }

  #arrived(): void {
    arrivals++;
    if (this.ignores > 0) return; // SIG_IGN: swallowed for everyone
    for (const state of [...this.sets]) state.deliver(this.signal);
  }

  get idle(): boolean {
    return this.sets.size === 0 && this.ignores === 0;
  }
}

const dispatches = new Map<Deno.Signal, Dispatch>();

/** How many signals reached a dispatch (for tests: "has it arrived yet?"). */
let arrivals = 0;

/** Tasks blocked in `_sigwait`, over all sets; while > 0, `keepAlive` is set. */
let waiting = 0;
let keepAlive: ReturnType<typeof setInterval> | undefined = undefined;

function countWaiter(delta: number): void {
  waiting += delta;
  if (waiting > 0 && keepAlive === undefined) {
    keepAlive = setInterval(() => {}, 2 ** 31 - 1);
  } else if (waiting === 0 && keepAlive !== undefined) {
    clearInterval(keepAlive);
    keepAlive = undefined;
  }
}

function wrapListenError(signal: unknown, action: string, error: unknown): Error {
  const detail = error instanceof Error ? error.message : String(error);
  const hint = signal === "SIGKILL" || signal === "SIGSTOP"
    ? "; the OS never lets a process catch SIGKILL or SIGSTOP"
    : "";
  return new RangeError(`Cannot ${action} ${String(signal)}: ${detail}${hint}`, { cause: error });
}

/**
 * Returns the dispatches of `signals`, registering a Deno listener for each
 * one that has none yet. If registering one fails, the ones registered here
 * are removed again and the error (a RangeError naming the signal) is thrown.
 */
function acquire(signals: readonly Deno.Signal[], action: string): Dispatch[] {
  const added: Dispatch[] = [];
  const result: Dispatch[] = [];
  try {
    for (const signal of signals) {
      let dispatch = dispatches.get(signal);
      if (dispatch === undefined) {
        dispatch = new Dispatch(signal);
        try {
          Deno.addSignalListener(signal, dispatch.listener);
        } catch (error) {
          throw wrapListenError(signal, action, error);
        }
        dispatches.set(signal, dispatch);
        added.push(dispatch);
      }
      result.push(dispatch);
    }
  } catch (error) {
    for (const dispatch of added) release(dispatch);
    throw error;
  }
  return result;
}

/** Removes `dispatch`'s Deno listener if nobody uses it any more. */
function release(dispatch: Dispatch): void {
  if (!dispatch.idle || dispatches.get(dispatch.signal) !== dispatch) return;
  dispatches.delete(dispatch.signal);
  Deno.removeSignalListener(dispatch.signal, dispatch.listener);
}

/** One open `_sigwatch`: undone by `_sigunwatch` or by kernel shutdown. */
interface Watch {
  unhook: () => void;
}

/** The kernel's record of one signal set. */
class SigState {
  readonly pending: Deno.Signal[] = [];
  readonly waiters: TrapList = new TrapList();
  readonly watches: Watch[] = [];
  #dispatches: Dispatch[] | undefined = undefined;

  constructor(readonly signals: readonly Deno.Signal[]) {}

  deliver(signal: Deno.Signal): void {
    const trap = this.waiters.shift();
    if (trap !== undefined) {
      countWaiter(-1);
      trap.wake(signal);
      this.sync();
    } else if (this.watches.length > 0) {
      this.pending.push(signal);
    }
  }

  /** Subscribes to (or unsubscribes from) the dispatches as interest changes. */
  sync(): void {
    const interested = this.watches.length > 0 || this.waiters.length > 0;
    if (interested && this.#dispatches === undefined) {
      const list = acquire(this.signals, "listen for");
      for (const dispatch of list) dispatch.sets.add(this);
      this.#dispatches = list;
    } else if (!interested && this.#dispatches !== undefined) {
      const list = this.#dispatches;
      this.#dispatches = undefined;
      for (const dispatch of list) {
        dispatch.sets.delete(this);
        release(dispatch);
      }
    }
  }
}

const states = new WeakMap<object, SigState>();

function checkSignalName(signal: unknown, action: string): asserts signal is Deno.Signal {
  if (typeof signal !== "string") {
    throw new TypeError(
      `Cannot ${action}: expected signal names such as "SIGUSR1", received ${typeof signal}`,
    );
  }
}

function stateOf(sigset: SignalSource, action: string): SigState {
  if (sigset === null || typeof sigset !== "object") {
    throw new TypeError(`Cannot ${action}: expected a SignalSet`);
  }
  let state = states.get(sigset);
  if (state !== undefined) return state;
  const signals = (sigset as { signals?: unknown }).signals;
  if (!Array.isArray(signals) || signals.length === 0) {
    throw new TypeError(
      `Cannot ${action}: expected a SignalSet (an object with a non-empty "signals" array)`,
    );
  }
  for (const signal of signals) checkSignalName(signal, action);
  state = new SigState(Object.freeze([...new Set(signals as Deno.Signal[])]));
  states.set(sigset, state);
  return state;
}

/** `_sigwatch`: start queueing the set's signals (nests; undone by `unwatch`). */
export function watch(sigset: SignalSource): void {
  const core = currentCore("watch signals");
  const state = stateOf(sigset, "watch signals");
  const watch: Watch = { unhook: () => {} };
  state.watches.push(watch);
  try {
    state.sync();
  } catch (error) {
    state.watches.pop();
    throw error;
  }
  watch.unhook = core.sched.addShutdownHook(() => {
    const i = state.watches.indexOf(watch);
    if (i === -1) return;
    state.watches.splice(i, 1);
    if (state.watches.length === 0) state.pending.length = 0;
    state.sync();
  });
}

/** `_sigunwatch`: close the newest open watch; at the last one, drop the queue. */
export function unwatch(sigset: SignalSource): void {
  currentCore("stop watching signals");
  const state = stateOf(sigset, "stop watching signals");
  const watch = state.watches.pop();
  if (watch === undefined) return;
  watch.unhook();
  if (state.watches.length === 0) state.pending.length = 0;
  state.sync();
}

/** `_sigwait`: the next queued signal at once, else block until one arrives. */
export function wait(sigset: SignalSource): Promise<Deno.Signal> {
  const core = currentCore("wait for a signal");
  const state = stateOf(sigset, "wait for a signal");
  const queued = state.pending.shift();
  if (queued !== undefined) return Promise.resolve(queued);
  const waiters = state.waiters;
  return suspend<Deno.Signal>(core, "SIGNAL_WAIT", (trap) => {
    waiters.push(trap as Trap);
    try {
      state.sync();
    } catch (error) {
      waiters.remove(trap as Trap);
      trap.fail(error);
      return;
    }
    countWaiter(1);
    trap.cleanup = () => {
      waiters.remove(trap as Trap);
      countWaiter(-1);
      state.sync();
    };
  }, undefined);
}

/** `_sigignore`: swallow the set's signals, process wide, until disposed. */
export function ignore(sigset: SignalSource): Disposable {
  const state = stateOf(sigset, "ignore signals");
  const list = acquire(state.signals, "ignore");
  for (const dispatch of list) dispatch.ignores++;
  let open = true;
  return {
    [Symbol.dispose](): void {
      if (!open) return;
      open = false;
      for (const dispatch of list) {
        dispatch.ignores--;
        release(dispatch);
      }
    },
  };
}

/** For tests: how many Deno signal listeners the kernel has registered. */
export function listenerCount(): number {
  return dispatches.size;
}

/** For tests: how many signals have reached the kernel's listeners so far. */
export function arrivalCount(): number {
  return arrivals;
}
