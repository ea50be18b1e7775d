// The cancellation sweep: run a scenario once to count its scheduling
// points, then run it again striking the victim task at each point in turn,
// once with a cancel and once with an expiring timeout, and check the
// scenario's invariants after every run.
//
// A *point* is a moment the scenario marks with `ctx.point()` or, usually,
// `ctx.step(label, op)`, which marks three: just before the operation starts,
// just after it started (the task is now blocked, or about to be), and just
// after it settled. Points are counted across all tasks of the scenario, so
// striking at point k covers the victim blocked in a wait, the victim woken
// but not yet resumed (a lock or item already handed to it), and the victim
// running between two waits.
//
// Striking:
// - "cancel": a fresh task calls `victim.cancel()`. The task starts
//   synchronously, so the cancel lands exactly at the point.
// - "timeout": the victim runs its body inside `timeoutAfter(HORIZON, ...)`;
//   the strike jumps the MockClock to that deadline. (A clock jump is what a
//   long pause of the process looks like: every deadline that passed fires.)
//
// Checked after every run:
// - the run finished: within `limit` virtual seconds (a watchdog task), and
//   within `realLimitMs` of real time;
// - every task the scenario spawned terminated, and only the victim (or
//   tasks marked `mayCancel`) ended cancelled; nobody crashed;
// - every `ctx.enter()` had its `ctx.leave()` (every finally ran);
// - the first k points of a struck run match the clean run (determinism);
// - the scenario's own invariants (its returned `check` function).

import assert from "node:assert/strict";
import {
  CancelledError,
  currentTask,
  MockClock,
  run,
  sleep,
  spawn,
  type Task,
  TaskTimeout,
  timeoutAfter,
} from "@curio/curio";

/** How a run strikes the victim. */
export type Mode = "clean" | "cancel" | "timeout";

/** Virtual seconds the victim's timeout block lasts unless struck. */
export const HORIZON = 1000;

/** Options for a spawned scenario task. */
export interface SpawnOpts {
  /** The task may end cancelled (the scenario cancels it itself). */
  mayCancel?: boolean;
  /** Run as a daemon. */
  daemon?: boolean;
}

interface Tracked {
  task: Task;
  name: string;
  victim: boolean;
  mayCancel: boolean;
}

/** What a scenario sees: how to spawn, mark points and guard finally blocks. */
export class SweepContext {
  readonly points: string[] = [];
  readonly problems: string[] = [];
  /** The label of the point struck, once struck. */
  struck: string | undefined = undefined;
  /** Free-form trace the scenario may use. */
  readonly trace: string[] = [];
  #tracked: Tracked[] = [];
  #victim: Task | undefined = undefined;
  #deadline = Infinity;
  #open = new Map<number, string>();
  #nextGuard = 0;

  constructor(
    readonly mode: Mode,
    readonly target: number,
    readonly clock: MockClock,
  ) {}

  /** The victim, once spawned. */
  get victim(): Task | undefined {
    return this.#victim;
  }

  /** Every task spawned through the context. */
  get tasks(): readonly Task[] {
    return this.#tracked.map((t) => t.task);
  }

  /** Marks a scheduling point; strikes the victim if it is the target. */
  point(label: string): void {
    if (this.#victim === undefined) return; // nothing to strike yet
    const i = this.points.length;
    this.points.push(label);
    if (i === this.target && this.mode !== "clean") this.#strike(label);
  }

  /** Runs `op`, marking a point before it, right after it started, and after it settled. */
  async step<T>(label: string, op: () => Promise<T>): Promise<T> {
    this.point(`${label} (before)`);
    const promise = op();
    this.point(`${label} (started)`);
    try {
      return await promise;
    } finally {
      this.point(`${label} (settled)`);
    }
  }

  /** Marks the start of a block whose `finally` must run; returns its token. */
  enter(name: string): number {
    const id = this.#nextGuard++;
    this.#open.set(id, name);
    return id;
  }

  /** Marks that the finally of `enter()`'s block ran. */
  leave(token: number): void {
    if (!this.#open.delete(token)) this.problems.push(`finally guard ${token} left twice`);
  }

  /** Cleanups for a wedged run (kill a child, close a socket), run only if run() never returns. */
  readonly onWedge: Array<() => void> = [];

  /** Spawns a scenario task. */
  async spawn<T>(name: string, fn: () => Promise<T>, opts: SpawnOpts = {}): Promise<Task<T>> {
    const task = await spawn(fn, { name, daemon: opts.daemon ?? false });
    this.#tracked.push({ task, name, victim: false, mayCancel: opts.mayCancel ?? false });
    return task;
  }

  /** Spawns the victim: the task the sweep cancels or times out. */
  async spawnVictim<T>(name: string, fn: () => Promise<T>): Promise<Task<T | undefined>> {
    if (this.#tracked.some((t) => t.victim)) throw new Error("a scenario has one victim");
    // The victim names itself before its first point (spawn starts it synchronously).
    const body = this.mode === "timeout"
      ? async () => {
        this.#victim = await currentTask();
        this.#deadline = this.clock.now() + HORIZON;
        return await timeoutAfter(HORIZON, fn);
      }
      : async () => {
        this.#victim = await currentTask();
        return await fn();
      };
    const task = await spawn(body as () => Promise<T>, { name });
    this.#tracked.push({ task, name, victim: true, mayCancel: true });
    return task;
  }

  #strike(label: string): void {
    this.struck = label;
    const victim = this.#victim!;
    if (this.mode === "cancel") {
      void spawn(() => victim.cancel(), { name: "sweep-canceller" });
    } else if (this.#deadline !== Infinity) {
      this.clock.jump(Math.max(0, this.#deadline - this.clock.now()));
    }
  }

  /** Cancels everything still running (the watchdog's last resort). */
  async rescue(): Promise<void> {
    for (const t of this.#tracked) {
      if (!t.task.terminated) await spawn(() => t.task.cancel(), { daemon: true });
    }
  }

  /** Checks what every scenario must satisfy once run() returned. */
  checkCommon(): void {
    for (const t of this.#tracked) {
      const where = `task ${t.name}`;
      if (!t.task.terminated) {
        this.problems.push(`${where} still alive after run() (state ${t.task.state})`);
        continue;
      }
      const error = t.task.exception;
      if (error === undefined) continue;
      if (error instanceof CancelledError && t.mayCancel) continue;
      this.problems.push(`${where} ended with ${describe(error)}`);
    }
    for (const name of this.#open.values()) this.problems.push(`finally of ${name} never ran`);
  }
}

/** A scenario: runs inside run(), spawns tasks through ctx, returns its invariant check. */
export type Scenario = (ctx: SweepContext) => Promise<(() => void) | void>;

/** Options for {@linkcode sweep}. */
export interface SweepOptions {
  /** Virtual seconds after which a run counts as hung (default 10 * HORIZON). */
  limit?: number;
  /** Real milliseconds after which a run counts as wedged (default 5000). */
  realLimitMs?: number;
  /** Which strikes to sweep (default both). */
  modes?: Array<"cancel" | "timeout">;
  /**
   * MockClock autojump in real seconds (default 0). Scenarios with real I/O
   * need a little (0.05): while a task waits on the network every task is
   * blocked, and with 0 virtual time would jump to the watchdog at once.
   */
  autojump?: number;
  /** The scenario depends on real I/O timing: do not require replays to match. */
  nondeterministic?: boolean;
}

/** The outcome of one run. */
export interface RunResult {
  ctx: SweepContext;
  problems: string[];
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = error.cause === undefined ? "" : ` (cause: ${describe(error.cause)})`;
    return `${error.name}: ${error.message}${cause}`;
  }
  return String(error);
}

/** Runs `scenario` once, striking at point `target` in `mode`. */
export async function runOnce(
  scenario: Scenario,
  mode: Mode,
  target: number,
  options: SweepOptions = {},
): Promise<RunResult> {
  const limit = options.limit ?? 10 * HORIZON;
  const realLimitMs = options.realLimitMs ?? 5000;
  const clock = new MockClock({ autojump: options.autojump ?? 0 });
  const ctx = new SweepContext(mode, target, clock);
  let check: (() => void) | void = undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const wedged = new Promise<"wedged">((resolve) => {
    timer = setTimeout(() => resolve("wedged"), realLimitMs);
  });
  try {
    const outcome = await Promise.race([
      run(async () => {
        await spawn(async () => {
          await sleep(limit);
          const alive = ctx.tasks.filter((t) => !t.terminated).map((t) => `${t.name}: ${t.state}`);
          ctx.problems.push(
            `hung: still running after ${limit} virtual seconds (${alive.join(", ") || "main"})`,
          );
          await ctx.rescue();
        }, { daemon: true, name: "sweep-watchdog" });
        check = await scenario(ctx);
      }, { clock, logErrors: false }).then(() => "done" as const, (error) => {
        ctx.problems.push(`run() rejected with ${describe(error)}`);
        return "done" as const;
      }),
      wedged,
    ]);
    if (outcome === "wedged") {
      ctx.problems.push(`wedged: run() did not return within ${realLimitMs} ms of real time`);
      // Release what the stuck tasks hold, so the test process can still exit.
      for (const cleanup of ctx.onWedge) {
        try {
          cleanup();
        } catch {
          // already gone
        }
      }
      return { ctx, problems: ctx.problems };
    }
  } finally {
    clearTimeout(timer);
  }
  ctx.checkCommon();
  if (check !== undefined) {
    try {
      (check as () => void)();
    } catch (error) {
      ctx.problems.push(`invariant: ${describe(error)}`);
    }
  }
  return { ctx, problems: ctx.problems };
}

/** The first of the points before the strike where `replay` differs from `clean`, or -1. */
function replayDiffers(clean: string[], replay: string[], k: number): number {
  for (let i = 0; i <= k; i++) if (replay[i] !== clean[i]) return i;
  return -1;
}

/** What a sweep did, for assertions that it tested something. */
export interface SweepReport {
  points: string[];
  runs: number;
  /** Runs in which the victim ended cancelled (or timed out). */
  victimCancelled: number;
  /** Runs in which the victim finished normally although struck. */
  victimCompleted: number;
  /** Runs whose points before the strike differed from the clean run. */
  diverged: number;
  divergences: string[];
}

/**
 * Runs `scenario` clean, then struck at every point in each mode; throws an
 * Error listing every failing run (scenario, mode, point index and label).
 */
export async function sweep(
  name: string,
  scenario: Scenario,
  options: SweepOptions = {},
): Promise<SweepReport> {
  // The clean run is the reference: take the interleaving that two clean
  // runs agree on (a loaded machine can make one of them the odd one out).
  const cleans: string[][] = [];
  let points: string[] | undefined;
  for (let i = 0; i < 3 && points === undefined; i++) {
    const clean = await runOnce(scenario, "clean", -1, options);
    if (clean.problems.length > 0) {
      throw new Error(`sweep ${name}: the clean run failed:\n  ${clean.problems.join("\n  ")}`);
    }
    const key = clean.ctx.points.join("\n");
    if (cleans.some((c) => c.join("\n") === key) || options.nondeterministic) {
      points = clean.ctx.points;
    }
    cleans.push(clean.ctx.points);
  }
  points ??= cleans[0]!;
  if (points.length === 0) throw new Error(`sweep ${name}: the scenario marked no points`);
  const failures: string[] = [];
  const report: SweepReport = {
    points,
    runs: 0,
    victimCancelled: 0,
    victimCompleted: 0,
    diverged: 0,
    divergences: [],
  };
  for (const mode of options.modes ?? ["cancel", "timeout"] as const) {
    for (let k = 0; k < points.length; k++) {
      // The kernel yields to the event loop after YIELD_MS of real time, and
      // fast paths (a free lock, a non-empty queue) continue as plain
      // microtasks, so on a loaded machine a run can interleave differently
      // from the clean one. Such a run still strikes some point and is
      // checked like any other; it is retried twice to hit the intended
      // point, and counted (not failed) if it still differs.
      let run = await runOnce(scenario, mode, k, options);
      let differ = replayDiffers(points, run.ctx.points, k);
      for (let retry = 0; retry < 2 && differ !== -1 && !options.nondeterministic; retry++) {
        if (run.problems.length > 0) break; // keep the failing run
        run = await runOnce(scenario, mode, k, options);
        differ = replayDiffers(points, run.ctx.points, k);
      }
      const { ctx, problems } = run;
      report.runs++;
      if (differ !== -1 && !options.nondeterministic) {
        report.diverged++;
        report.divergences.push(
          `${mode} at point ${k}: point ${differ} was ${ctx.points[differ]}, clean run had ${
            points[differ]
          }`,
        );
      }
      const victim = ctx.victim;
      if (victim?.exception instanceof CancelledError) report.victimCancelled++;
      else if (victim?.terminated && victim.exception === undefined) report.victimCompleted++;
      if (problems.length > 0) {
        failures.push(`${mode} at point ${k} (${points[k]}):\n    ${problems.join("\n    ")}`);
      }
    }
  }
  if (failures.length > 0) {
    const shown = failures.slice(0, 8).join("\n  ");
    const more = failures.length > 8 ? `\n  ... and ${failures.length - 8} more` : "";
    throw new Error(
      `sweep ${name}: ${failures.length} of ${report.runs} struck runs failed:\n  ${shown}${more}`,
    );
  }
  if (Deno.env.get("CURIO_SWEEP_VERBOSE")) {
    console.log(
      `sweep ${name}: ${points.length} points, ${report.runs} struck runs, victim cancelled in ${report.victimCancelled}, completed in ${report.victimCompleted}, diverged ${report.diverged}`,
    );
  }
  if (report.victimCancelled === 0) {
    throw new Error(`sweep ${name}: no strike ever cancelled the victim; the sweep tested nothing`);
  }
  return report;
}

/** Checks how the victim ended: normally, or with the strike's own error class. */
export function assertVictimEnd(ctx: SweepContext): void {
  const error = ctx.victim!.exception;
  if (error === undefined) return;
  if (ctx.mode === "cancel") {
    assert.equal(
      (error as Error).constructor,
      CancelledError,
      `a cancelled victim must end with a plain CancelledError, got ${String(error)}`,
    );
  } else {
    assert.equal(
      (error as Error).constructor,
      TaskTimeout,
      `a timed-out victim must end with TaskTimeout, got ${String(error)}`,
    );
  }
}
