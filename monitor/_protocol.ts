// What the monitor's two threads say to each other, and the constants both
// sides (and the client) share.
//
// The main thread (agent.ts) owns the kernel; the worker (_server.ts) owns
// the sockets. The agent sends snapshots: only the rows that changed since
// the last one, every TICK_MS while anything listens, and at once when the
// worker asks (a `sync`). Everything that acts on the program (cancel,
// signal) or needs a fresh stack (where) is a request the agent answers.

/** The address the console binds to by default: loopback only. */
export const MONITOR_HOST = "127.0.0.1";
/** The console's default port (curio's). */
export const MONITOR_PORT = 48802;
/** What the console sends when it is ready for the next command. */
export const MONITOR_PROMPT = "curio > ";
/** The longest command line accepted, in bytes; longer lines close the connection. */
export const MONITOR_MAX_LINE = 4096;
/** How often the agent sends a snapshot (and so a heartbeat), in milliseconds. */
export const TICK_MS = 100;
/** Silence after which the worker says the kernel is not responding, in milliseconds. */
export const STALL_MS = 1000;

/** Limits that protect the program from its monitor's clients (worker side). */
export interface MonitorLimits {
  /** Console clients at once; a newcomer may evict the longest-idle one. */
  maxClients: number;
  /** Seconds without a command before a console client is closed. */
  idleTimeout: number;
  /** Seconds a client must have been idle before a newcomer may evict it. */
  evictAfter: number;
  /** Commands a client may send in a burst. */
  commandBurst: number;
  /** Commands per second a client may sustain; beyond burst + rate it is cut off. */
  commandRate: number;
  /** Bytes a client may be sent in a burst. */
  byteBurst: number;
  /** Bytes per second a client may be sent; beyond, its next command waits. */
  byteRate: number;
  /** Milliseconds of the worker's time a client may use in a burst. */
  timeBurst: number;
  /** Milliseconds of the worker's time per second a client may use; beyond, it waits. */
  timeRate: number;
  /** Web page event streams at once. */
  maxWebClients: number;
}

/** The defaults; tests shrink some through the undocumented `limits` option. */
export const DEFAULT_LIMITS: MonitorLimits = {
  maxClients: 8,
  idleTimeout: 600,
  evictAfter: 10,
  commandBurst: 1000,
  commandRate: 500,
  byteBurst: 4 * 1024 * 1024,
  byteRate: 2 * 1024 * 1024,
  timeBurst: 250,
  timeRate: 100,
  maxWebClients: 8,
};

/** One task as the worker keeps it. */
export interface TaskRow {
  id: number;
  name: string;
  state: string;
  cycles: number;
  daemon: boolean;
  parent: number | undefined;
  /** Blocked in a kernel operation right now. */
  blocked: boolean;
  /** Kernel-clock time it entered its state; -1 when not recorded. */
  since: number;
}

/** What may change in a row once it has been sent: the rest never does. */
export type RowChange = Pick<TaskRow, "id" | "state" | "cycles" | "blocked" | "since">;

/** A snapshot: what changed since the last one. */
export interface SnapshotMessage {
  t: "snap";
  /** Wall-clock time it was taken (Date.now()). */
  at: number;
  /** The kernel clock then, seconds. */
  now: number;
  /** New tasks, in full. */
  rows: TaskRow[];
  /** Tasks already sent whose state, cycles or time changed. */
  changed: RowChange[];
  /** Ids of tasks that ended. */
  gone: number[];
  /** Formatted stacks of tasks that blocked somewhere new (a bounded number per snapshot). */
  stacks: Array<[number, string]>;
  /** Set when this snapshot answers a `sync`. */
  req?: number;
}

/** Worker to agent. */
export type WorkerRequest =
  | { t: "listening"; host: string; port: number; web?: string }
  | { t: "failed"; message: string; code: string }
  | { t: "closed" }
  | { t: "sync"; req: number }
  | { t: "where"; req: number; id: number }
  | { t: "cancel"; req: number; id: number }
  | { t: "signal"; req: number; name: string };

/** Agent to worker. */
export type AgentMessage =
  | {
    t: "start";
    host: string;
    port: number;
    web: boolean;
    limits: MonitorLimits;
    running: Int32Array;
  }
  | { t: "close" }
  | SnapshotMessage
  | { t: "reply"; req: number; text: string; error?: boolean };
