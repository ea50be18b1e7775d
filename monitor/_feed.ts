// The worker's copy of the task table, kept up to date by the agent's
// snapshots, and the requests the worker sends back to the main thread.
//
// Everything here runs on the monitor's worker thread. `lastHeard` is when
// the main thread last spoke; after STALL_MS of silence the kernel is
// "not responding" and every reply says so, from the last snapshot.

import { RUNNING_ID } from "../kernel/monitor_hook.ts";
import {
  type AgentMessage,
  type SnapshotMessage,
  STALL_MS,
  type TaskRow,
  type WorkerRequest,
} from "./_protocol.ts";

/** How often a pending request looks whether the main thread went silent (ms). */
export const POLL_MS = 25;

/** Distributive Omit: keeps each member of a union apart. */
type RequestBody = WorkerRequest extends infer R
  ? R extends { req: number } ? Omit<R, "req"> : never
  : never;

/** A reply from the main thread, or why there was none. */
export type Answer =
  | { ok: true; text: string; error: boolean }
  | { ok: false; stalledFor: number };

/** A change to the table, as pushed to web pages. */
export interface TableChange {
  rows: TaskRow[];
  gone: number[];
  now: number;
}

/** The table and the link to the main thread. */
export class Feed {
  readonly tasks: Map<number, TaskRow> = new Map();
  /** The last formatted stack of each task, for when the main thread is stuck. */
  readonly stacks: Map<number, string> = new Map();
  /** Wall-clock time of the last message from the main thread. */
  lastHeard: number = Date.now();
  /** The kernel clock at the last snapshot. */
  kernelNow = 0;
  #nextReq = 1;
  #pending = new Map<number, (answer: Answer) => void>();
  #listeners = new Set<(change: TableChange) => void>();

  constructor(readonly post: (msg: WorkerRequest) => void, readonly running: Int32Array) {}

  /** Milliseconds the main thread has been silent, or 0 while it responds. */
  stalledFor(now: number = Date.now()): number {
    const silent = now - this.lastHeard;
    return silent > STALL_MS ? silent : 0;
  }

  /** Applies a message from the agent. */
  receive(msg: AgentMessage): void {
    this.lastHeard = Date.now();
    if (msg.t === "snap") {
      this.#apply(msg);
      if (msg.req !== undefined) this.#settle(msg.req, { ok: true, text: "", error: false });
    } else if (msg.t === "reply") {
      this.#settle(msg.req, { ok: true, text: msg.text, error: msg.error ?? false });
    }
  }

  #apply(snap: SnapshotMessage): void {
    this.kernelNow = snap.now;
    const touched: TaskRow[] = [];
    for (const row of snap.rows) {
      this.tasks.set(row.id, row);
      touched.push(row);
    }
    for (const change of snap.changed) {
      const row = this.tasks.get(change.id);
      if (row === undefined) continue;
      Object.assign(row, change);
      touched.push(row);
    }
    for (const id of snap.gone) {
      this.tasks.delete(id);
      this.stacks.delete(id);
    }
    for (const [id, stack] of snap.stacks) this.stacks.set(id, stack);
    if (touched.length > 0 || snap.gone.length > 0) {
      const change = { rows: touched, gone: snap.gone, now: snap.now };
      for (const listener of this.#listeners) listener(change);
    }
  }

  /** Calls `listener` with every change to the table; returns the unsubscribe. */
  subscribe(listener: (change: TableChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Sends a request to the main thread and waits for the reply; gives up
   * once the main thread has been silent for STALL_MS, or after `patience`
   * ms in any case.
   */
  ask(body: RequestBody, patience = 3000): Promise<Answer> {
    const req = this.#nextReq++;
    return new Promise<Answer>((resolve) => {
      const started = Date.now();
      const timer = setInterval(() => {
        const now = Date.now();
        const stalled = this.stalledFor(now);
        if (stalled > 0 || now - started > patience) {
          this.#pending.delete(req);
          clearInterval(timer);
          resolve({ ok: false, stalledFor: stalled > 0 ? stalled : now - this.lastHeard });
        }
      }, POLL_MS);
      this.#pending.set(req, (answer) => {
        clearInterval(timer);
        resolve(answer);
      });
      this.post({ ...body, req } as WorkerRequest);
    });
  }

  #settle(req: number, answer: Answer): void {
    const resolve = this.#pending.get(req);
    if (resolve === undefined) return;
    this.#pending.delete(req);
    resolve(answer);
  }

  /** Brings the table up to date if the main thread answers; false if it is stuck. */
  async refresh(): Promise<boolean> {
    return (await this.ask({ t: "sync" })).ok;
  }

  /** Seconds task `row` has been in its state, or undefined when not recorded. */
  timeInState(row: TaskRow, now: number = Date.now()): number | undefined {
    if (!row.blocked || row.since < 0) return undefined;
    return this.kernelNow - row.since + this.stalledFor(now) / 1000;
  }

  /**
   * Lines saying the kernel is not responding, since when, and which task it
   * last resumed (with where that task last blocked); empty while it responds.
   */
  stallReport(now: number = Date.now()): string[] {
    const stalled = this.stalledFor(now);
    if (stalled === 0) return [];
    const since = new Date(this.lastHeard).toISOString();
    const lines = [
      `! the kernel has not responded for ${(stalled / 1000).toFixed(1)}s (since ${since}): ` +
      "its thread is busy in synchronous code",
    ];
    const id = this.running[RUNNING_ID]!;
    const task = this.tasks.get(id);
    const who = `task ${id} (${printable(task?.name ?? "?")})`;
    if (id === 0) {
      lines.push("! running: no task had been resumed yet");
    } else {
      const stack = this.stacks.get(id);
      lines.push(
        stack === undefined
          ? `! running: ${who} (no stack recorded for it)`
          : `! running: ${who}, which last blocked at:`,
      );
      if (stack !== undefined) lines.push(...stack.split("\n").map((frame) => "! " + frame));
    }
    return lines;
  }
}

/** A task name as one safe line: control characters escaped. */
export function printable(text: string): string {
  return text.replace(
    // deno-lint-ignore no-control-regex
    /[\x00-\x1f\x7f]/g,
    (c) => "\\x" + c.charCodeAt(0).toString(16).padStart(2, "0"),
  );
}

/** Clips user input quoted back in an error message. */
export function clip(text: string): string {
  return text.length > 40 ? text.slice(0, 40) + "..." : text;
}

/** `0.5s`, `12.0s`, `3m07s`, `2h05m`. */
export function formatDuration(seconds: number): string {
  if (!(seconds >= 0)) seconds = 0;
  if (seconds < 60) return seconds.toFixed(1) + "s";
  if (seconds < 3600) {
    const m = Math.floor(seconds / 60);
    return `${m}m${String(Math.floor(seconds - m * 60)).padStart(2, "0")}s`;
  }
  const h = Math.floor(seconds / 3600);
  return `${h}h${String(Math.floor((seconds - h * 3600) / 60)).padStart(2, "0")}m`;
}
