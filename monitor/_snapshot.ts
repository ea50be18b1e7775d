// Snapshots of a kernel's task table for the monitor's worker: only what
// changed since the last one, plus the stacks of tasks that blocked
// somewhere new, formatted within a budget per snapshot.

import type { KernelView, MonitoredTask } from "../kernel/monitor_hook.ts";
import type { RowChange, SnapshotMessage, TaskRow } from "./_protocol.ts";

/** Milliseconds of stack formatting one snapshot may spend. */
const STACK_BUDGET_MS = 1;

/** What the agent remembers of a row it has sent. */
interface Sent {
  state: string;
  cycles: number;
  since: number;
  blocked: boolean;
  stack: Error | undefined;
  seen: number;
}

/** Formatted stacks by the Error the kernel recorded: formatting happens once. */
const formatted = new WeakMap<Error, string>();

/**
 * The frames of a recorded wait stack, kernel internals left out, one
 * indented frame per line.
 */
export function formatStack(stack: Error): string {
  let text = formatted.get(stack);
  if (text === undefined) {
    text = String(stack.stack).split("\n").slice(1)
      .filter((frame) => !frame.includes("/kernel/_task_core.ts") && !frame.includes("(ext:"))
      .filter((frame) => !frame.includes("/kernel/monitor_hook.ts"))
      .map((frame) => "  " + frame.trim())
      .join("\n");
    formatted.set(stack, text);
  }
  return text;
}

/** Builds snapshots of one kernel's task table: only what changed since the last. */
export class Snapshotter {
  #sent = new Map<number, Sent>();
  #dirty = new Set<number>();
  #generation = 0;

  constructor(readonly view: KernelView) {}

  take(req?: number): SnapshotMessage {
    const view = this.view;
    const seen = ++this.#generation;
    const rows: TaskRow[] = [];
    const changed: RowChange[] = [];
    const sent = this.#sent;
    let live = 0;
    for (const task of view.tasks()) {
      live++;
      const blocked = task.trap !== undefined;
      const since = task.waitStack === undefined ? -1 : task.stateSince;
      const prev = sent.get(task.id);
      if (prev === undefined) {
        sent.set(task.id, {
          state: task.state,
          cycles: task.cycles,
          since,
          blocked,
          stack: task.waitStack,
          seen,
        });
        rows.push(row(task, blocked, since));
        if (task.waitStack !== undefined) this.#dirty.add(task.id);
        continue;
      }
      prev.seen = seen;
      if (
        prev.state !== task.state || prev.cycles !== task.cycles || prev.since !== since ||
        prev.blocked !== blocked
      ) {
        prev.state = task.state;
        prev.cycles = task.cycles;
        prev.since = since;
        prev.blocked = blocked;
        changed.push({ id: task.id, state: task.state, cycles: task.cycles, blocked, since });
      }
      if (prev.stack !== task.waitStack) {
        prev.stack = task.waitStack;
        if (task.waitStack !== undefined) this.#dirty.add(task.id);
      }
    }
    const gone: number[] = [];
    if (sent.size > live) {
      for (const [id, entry] of sent) {
        if (entry.seen !== seen) {
          sent.delete(id);
          this.#dirty.delete(id);
          gone.push(id);
        }
      }
    }
    const message: SnapshotMessage = {
      t: "snap",
      at: Date.now(),
      now: view.now(),
      rows,
      changed,
      gone,
      stacks: this.#stacks(),
    };
    if (req !== undefined) message.req = req;
    return message;
  }

  /** Formats the stacks of tasks that blocked somewhere new, within the budget. */
  #stacks(): Array<[number, string]> {
    const out: Array<[number, string]> = [];
    if (this.#dirty.size === 0) return out;
    const start = performance.now();
    for (const id of this.#dirty) {
      this.#dirty.delete(id);
      const stack = this.view.task(id)?.waitStack;
      if (stack !== undefined) out.push([id, formatStack(stack)]);
      if (performance.now() - start > STACK_BUDGET_MS) break;
    }
    return out;
  }
}

function row(task: MonitoredTask, blocked: boolean, since: number): TaskRow {
  return {
    id: task.id,
    name: task.name,
    state: task.state,
    cycles: task.cycles,
    daemon: task.daemon,
    parent: task.parentId,
    blocked,
    since,
  };
}
