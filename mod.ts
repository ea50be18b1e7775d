/**
 * curio for Deno: tasks, cancellation, timeouts, queues, locks, sockets,
 * subprocesses and worker offload, on plain async functions.
 *
 * A port of David Beazley's curio. Tasks are ordinary `async` functions run
 * by a small kernel; cancellation and timeouts arrive as exceptions at the
 * `await` where a task is blocked, so `finally` blocks are ordinary code.
 *
 * ```ts
 * import { run, sleep, spawn, timeoutAfter } from "@curio/curio";
 *
 * async function countdown(n: number): Promise<void> {
 *   while (n > 0) {
 *     await sleep(0.01);
 *     n--;
 *   }
 * }
 *
 * await run(async () => {
 *   const t = await spawn(() => countdown(3));
 *   await timeoutAfter(5, () => t.join());
 * });
 * ```
 *
 * @module
 */

export * from "./kernel/errors.ts";
export * from "./kernel/clock.ts";
export * from "./kernel/kernel.ts";
export * from "./kernel/task.ts";
export * from "./kernel/spawn.ts";
export * from "./kernel/sleep.ts";
export * from "./kernel/current_task.ts";
export * from "./kernel/timeouts.ts";
export * from "./kernel/wait.ts";
export * as traps from "./kernel/traps.ts";

// The monitor registers itself with the kernel, so withMonitor works; its
// client is the separate entry point @curio/curio/monitor.
import "./monitor/agent.ts";

// sync
export * from "./sync/event.ts";
export * from "./sync/lock.ts";
export * from "./sync/semaphore.ts";
export * from "./sync/condition.ts";
export * from "./sync/queue.ts";
export * from "./sync/priority_queue.ts";
export * from "./sync/lifo_queue.ts";
export * from "./kernel/task_group.ts";

// io: streams, sockets, network helpers
export * from "./io/file_stream.ts";
export { type Address, type RawSocket, Socket } from "./io/socket_wrapper.ts";
export * from "./io/socket_stream.ts";
export * from "./io/network.ts";
export * as socket from "./io/socket.ts";
export * as ssl from "./io/ssl.ts";
// Named by the network helpers' options (`ssl?: SSLContext`); also `ssl.SSLContext`.
export type { PurposeValue, SSLContext, WrapOptions } from "./io/ssl.ts";

// signals and subprocesses
export * from "./io/signal_set.ts";
export * as subprocess from "./io/subprocess.ts";

// workers
export * from "./workers/run_in_thread.ts";
export * from "./workers/run_in_process.ts";
export * from "./workers/run_in_executor.ts";
export * from "./workers/worker_function.ts";
export * from "./workers/limits.ts";
export * from "./workers/shared.ts";
export * from "./workers/abide.ts";

// http
export * from "./http/mod.ts";
